"""Unlabeled images: no task loss on them, all distill entries on them, teacher pseudo-labels."""
import pytest
import torch

pytest.importorskip('mmdet')


@pytest.fixture
def setup(tiny_digits_det, tmp_path):
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from kd.apis import load_config
    from kd.registry import DATASETS, MODELS
    cfg = load_config('configs/cwd/cwd_retinanet_digits.py',
                      ['model.teacher.checkpoint=None', 'model.teacher.allow_random_init=True',
                       'model.student.test_cfg.score_thr=0.0'])
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    inner = dict(cfg.train_dataloader.dataset, data_root=tiny_digits_det + '/')
    parts = {part: DATASETS.build(dict(type='kd.SplitLabels', dataset=inner, labeled_ratio=0.5,
                                       part=part, seed=0)) for part in ('labeled', 'unlabeled')}

    def batch(labeled, unlabeled):
        items = [parts['labeled'][i] for i in range(labeled)] + \
            [parts['unlabeled'][i] for i in range(unlabeled)]
        return model.data_preprocessor(pseudo_collate(items), training=True)

    return model, batch


def test_only_unlabeled_images_give_no_task_loss(setup):
    model, batch = setup
    model.train()
    data = batch(0, 4)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert not [k for k in losses if k.startswith('student.')]
    assert torch.isfinite(losses['distill.fpn']) and losses['distill.fpn'] > 0


def test_mixed_batch_task_loss_is_the_labeled_images_loss(setup):
    model, batch = setup
    model.train()
    data = batch(2, 2)
    losses = model.loss(data['inputs'], data['data_samples'])
    alone = model.student.loss(data['inputs'][:2], data['data_samples'][:2])
    for key in ('loss_cls', 'loss_bbox'):
        got = sum(v.sum() for v in losses[f'student.{key}'])
        want = sum(v.sum() for v in alone[key])
        torch.testing.assert_close(got, want)
    # the distill entry saw all four images: it differs from the labeled pair's alone
    labeled_only = batch(2, 0)
    alone_distill = model.loss(labeled_only['inputs'], labeled_only['data_samples'])
    assert not torch.allclose(losses['distill.fpn'], alone_distill['distill.fpn'])


def test_pseudo_labels_are_the_teachers_thresholded_detections(setup):
    model, batch = setup
    # an untrained teacher scores about 0.01 (RetinaNet's prior): keep its raw detections
    # and put the threshold at their median
    model.teacher.bbox_head.test_cfg['score_thr'] = 0.0
    data = batch(0, 3)
    teacher = model.teacher
    teacher.eval()
    with torch.no_grad():
        preds = teacher.predict(data['inputs'], [s.clone() for s in data['data_samples']],
                                rescale=False)
    thr = float(torch.cat([p.pred_instances.scores for p in preds]).median())
    model.pseudo_labels = dict(score_thr=thr, loss_weight=0.5)
    pseudo = model.pseudo_label(data['inputs'], data['data_samples'])
    for p, pred in zip(pseudo, preds):
        keep = pred.pred_instances.scores >= thr
        assert torch.equal(p.gt_instances.bboxes, pred.pred_instances.bboxes[keep])
        assert torch.equal(p.gt_instances.labels, pred.pred_instances.labels[keep])
        assert p.metainfo['unlabeled'] and p.metainfo['pseudo_labeled']
    counts = [len(p.gt_instances) for p in pseudo]
    assert 0 < sum(counts) < sum(len(p.pred_instances) for p in preds)   # the threshold bites
    model.train()
    losses = model.loss(data['inputs'], data['data_samples'])
    assert 'student.pseudo.loss_cls' in losses and 'student.pseudo_boxes_per_image' in losses
    expected = sum(len(p.gt_instances) for p in pseudo) / 3
    assert float(losses['student.pseudo_boxes_per_image']) == pytest.approx(expected)
    assert not [k for k in losses if k.startswith('student.loss')]
