"""CifarResNet, LinearClsHead, ClsDataPreprocessor, ImageClassifier and the
classification transforms."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.structures import BaseDataElement

from kd.datasets.transforms import PackClsInputs, RandomShiftCrop
from kd.models.backbones import CifarResNet
from kd.models.classifiers import ImageClassifier
from kd.models.data_preprocessors import ClsDataPreprocessor
from kd.models.heads import LinearClsHead
from kd.registry import MODELS, TRANSFORMS


def _classifier(num_classes=10):
    return ImageClassifier(
        backbone=dict(type='CifarResNet', depth=8, base_channels=8),
        head=dict(num_classes=num_classes, in_channels=32),
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5] * 3, std=[64.0] * 3))


def _packed_batch(labels=(3, 7)):
    rng = np.random.RandomState(0)
    pack = PackClsInputs()
    samples = [pack(dict(img=rng.randint(0, 256, (32, 32, 3), dtype=np.uint8),
                         gt_label=label, sample_idx=i)) for i, label in enumerate(labels)]
    return pseudo_collate(samples)


@pytest.mark.parametrize('depth,base,blocks', [(8, 16, 1), (20, 16, 3)])
def test_cifar_resnet_shapes(depth, base, blocks):
    model = CifarResNet(depth=depth, base_channels=base)
    outs = model(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, base, 32, 32), (2, 2 * base, 16, 16),
                                              (2, 4 * base, 8, 8)]
    assert model.out_channels == (base, 2 * base, 4 * base)
    assert len(model.layer1) == len(model.layer3) == blocks
    convs = sum(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)
                for m in model.modules())
    assert convs + 1 == depth   # 3x3 convs plus the (head) fc layer make the depth


def test_cifar_resnet_out_indices_and_errors():
    model = CifarResNet(depth=8, base_channels=4, in_channels=1, out_indices=(2,))
    (out,) = model(torch.rand(1, 1, 32, 32))
    assert out.shape == (1, 16, 8, 8) and model.out_channels == (16,)
    with pytest.raises(ValueError, match='6n \\+ 2'):
        CifarResNet(depth=10)
    with pytest.raises(ValueError, match='out_indices'):
        CifarResNet(depth=8, out_indices=(3,))


def test_pack_cls_inputs_types():
    img = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    packed = PackClsInputs()(dict(img=img, gt_label=np.int64(4), sample_idx=9))
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, 4, 5)
    assert torch.equal(inputs[1], torch.from_numpy(img[..., 1]))
    assert isinstance(sample, BaseDataElement)
    assert sample.gt_label.dtype == torch.int64 and sample.gt_label.tolist() == [4]
    assert sample.sample_idx == 9 and 'sample_idx' in sample.metainfo_keys()
    gray = PackClsInputs()(dict(img=img[..., 0]))
    assert gray['inputs'].shape == (1, 4, 5) and 'gt_label' not in gray['data_samples']


def test_random_shift_crop_is_a_window_of_the_padded_image():
    img = np.random.RandomState(0).randint(1, 256, (8, 8, 3), dtype=np.uint8)
    padded = np.pad(img, ((2, 2), (2, 2), (0, 0)))
    np.random.seed(0)
    offsets = set()
    for _ in range(20):
        out = RandomShiftCrop(pad=2)(dict(img=img.copy()))['img']
        assert out.shape == img.shape and out.dtype == np.uint8
        hits = [(y, x) for y in range(5) for x in range(5)
                if np.array_equal(out, padded[y:y + 8, x:x + 8])]
        assert len(hits) == 1
        offsets.add(hits[0])
    assert len(offsets) > 1   # it does shift randomly
    assert RandomShiftCrop(pad=0)(dict(img=img))['img'] is img


def test_data_preprocessor_normalises_and_stacks():
    pre = ClsDataPreprocessor(mean=[10.0, 20.0, 30.0], std=[2.0, 4.0, 5.0], bgr_to_rgb=True)
    imgs = [torch.full((3, 2, 2), 40, dtype=torch.uint8), torch.zeros(3, 2, 2, dtype=torch.uint8)]
    out = pre(dict(inputs=imgs, data_samples=['a', 'b']))
    assert out['inputs'].dtype == torch.float32 and out['inputs'].shape == (2, 3, 2, 2)
    assert out['inputs'][0, :, 0, 0].tolist() == [15.0, 5.0, 2.0]
    assert out['inputs'][1, :, 0, 0].tolist() == [-5.0, -5.0, -6.0]
    assert out['data_samples'] == ['a', 'b']


def test_classifier_modes_and_loss_matches_cross_entropy():
    torch.manual_seed(0)
    model = _classifier()
    model.eval()
    data = model.data_preprocessor(_packed_batch((3, 7)), False)
    inputs, samples = data['inputs'], data['data_samples']
    logits = model(inputs, mode='tensor')
    assert logits.shape == (2, 10)
    assert torch.allclose(logits, model.head.fc(model.extract_feat(inputs)[-1].mean((2, 3))),
                          atol=1e-6)

    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_cls'}
    expected = -(F.log_softmax(logits, 1)[0, 3] + F.log_softmax(logits, 1)[1, 7]) / 2
    assert torch.allclose(losses['loss_cls'], expected, atol=1e-6)

    preds = model(inputs, samples, mode='predict')
    assert len(preds) == 2
    for pred, row in zip(preds, logits):
        assert pred.pred_score.shape == (10,)
        assert torch.allclose(pred.pred_score, row.softmax(0), atol=1e-6)
        assert pred.pred_label.dtype == torch.int64
        assert int(pred.pred_label) == int(row.argmax())
    assert preds[0].sample_idx == 0


def test_head_loss_weight_and_label_smoothing():
    head = LinearClsHead(num_classes=4, in_channels=6, loss_weight=0.5, label_smoothing=0.1)
    feats = torch.rand(3, 6, 2, 2)
    samples = [BaseDataElement(gt_label=torch.tensor([c])) for c in (0, 2, 3)]
    logits = head(feats)
    logp = F.log_softmax(logits, 1)
    target = torch.full((3, 4), 0.1 / 4)
    target[torch.arange(3), torch.tensor([0, 2, 3])] += 0.9
    expected = 0.5 * -(target * logp).sum(1).mean()
    assert torch.allclose(head.loss((feats,), samples)['loss_cls'], expected, atol=1e-6)
    with pytest.raises(KeyError, match='gt_label'):
        head.loss(feats, [BaseDataElement()] * 3)


def test_train_step_updates_weights():
    torch.manual_seed(0)
    model = _classifier()
    from mmengine.optim import OptimWrapper
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    before = model.head.fc.weight.detach().clone()
    log_vars = model.train_step(_packed_batch(), optim)
    assert 'loss' in log_vars and 'loss_cls' in log_vars
    assert not torch.equal(before, model.head.fc.weight)
    preds = model.val_step(_packed_batch())
    assert preds[0].gt_label.tolist() == [3] and preds[0].pred_score.shape == (10,)


def test_build_from_registry_by_name():
    model = MODELS.build(dict(
        type='ImageClassifier', backbone=dict(type='CifarResNet', depth=8, base_channels=4),
        head=dict(num_classes=3, in_channels=16)))
    assert isinstance(model.backbone, CifarResNet) and isinstance(model.head, LinearClsHead)
    assert isinstance(model.data_preprocessor, ClsDataPreprocessor)
    assert model.data_preprocessor.mean.shape == (3, 1, 1)
    assert isinstance(MODELS.build(dict(type='kd.CifarResNet', depth=8)), CifarResNet)
    assert isinstance(TRANSFORMS.build(dict(type='PackClsInputs')), PackClsInputs)
    assert isinstance(TRANSFORMS.build(dict(type='RandomShiftCrop', pad=4)), RandomShiftCrop)
    with pytest.raises(ValueError, match='mode'):
        _classifier()(torch.rand(1, 3, 32, 32), mode='bogus')
