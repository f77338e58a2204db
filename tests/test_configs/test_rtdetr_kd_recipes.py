"""The RT-DETR distillation recipes (configs/rtdetr/, issue 19 items 3 and 4).

Every recipe builds and trains under MMEngine's Runner with a random teacher on tiny
data, each distill entry logged under its own key; the logit loss sees the layouts it
expects (student: denoising + 30 matching queries of 3 layers; teacher: 30 queries of
6 layers, in eval mode); the schedules of the logit + feature recipes are the ones
their comments state; the exported student loads strictly into the student config and
tools/test.py evaluates it; and the converter round trip official -> kd -> distil ->
export holds together.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from kd.apis import build_runner, load_config
from tests.test_configs.test_quickstart import _tiny_det_overrides

pytest.importorskip('mmdet')
pytest.importorskip('scipy')

ROOT = Path(__file__).resolve().parents[2]
STUDENT = 'configs/rtdetr/rtdetr_student_digits.py'
TEACHER = 'configs/rtdetr/rtdetr_teacher_digits.py'
LOGIT = 'configs/rtdetr/detr_kd_rtdetr_digits.py'
# feature recipe -> its loss type
FEATURE = {
    'configs/rtdetr/mimic_rtdetr_digits.py': 'FeatureMSELoss',
    'configs/rtdetr/mgd_rtdetr_digits.py': 'MGDLoss',
    'configs/rtdetr/cwd_rtdetr_digits.py': 'ChannelWiseDivergence',
    'configs/rtdetr/chsim_rtdetr_digits.py': 'ICKDLoss',
    'configs/rtdetr/spkd_rtdetr_digits.py': 'SPKDLoss',
}
# logit + feature recipe -> (feature loss type, schedule factor at iteration t of T)
COMBINED = {
    'configs/rtdetr/detr_kd_mgd_rtdetr_digits.py':
        ('MGDLoss', lambda t, total: 1.0 + (0.1 - 1.0) * t / total),
    'configs/rtdetr/detr_kd_cwd_rtdetr_digits.py':
        ('ChannelWiseDivergence',
         lambda t, total: 0.1 + (1.0 - 0.1) * (1 + math.cos(math.pi * t / total)) / 2),
}
RECIPES = [LOGIT, *FEATURE, *COMBINED]
# parameter counts stated in the config comments
STUDENT_PARAMS, TEACHER_PARAMS = 2_769_104, 5_611_666
# a random teacher is never confident: its 5 best queries per image become targets, so
# the matching and the box terms of DETRDistillLoss run too
CONFIDENT = 'model.update(distill=dict(detr=dict(loss=dict(score_thr=0.0, topk=5))))\n'


def _random_teacher(tmp_path, recipe, extra=''):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / 'recipe.py'
    path.write_text(f"_base_ = ['kd::{recipe.split('configs/', 1)[1]}']\n"
                    "model = dict(teacher=dict(checkpoint=None, allow_random_init=True))\n"
                    + extra)
    return str(path)


def _opts(root, work_dir, iters=2, validate=False):
    opts = [o for o in _tiny_det_overrides(root, work_dir, iters=iters)
            if not o.startswith('model.')]
    if not validate:   # the training step is what these tests check; validation is slow
        opts = [o for o in opts if not o.startswith('train_cfg.val_interval')]
        opts.append(f'train_cfg.val_interval={iters + 1}')
    return opts


def _build(recipe, root, tmp_path, iters=2, validate=False, extra=''):
    if recipe in (LOGIT, *COMBINED):
        extra = CONFIDENT + extra
    cfg = load_config(_random_teacher(tmp_path, recipe, extra),
                      _opts(root, tmp_path, iters, validate))
    return build_runner(cfg)


def _scalar(runner, key):
    return float(runner.message_hub.log_scalars[key].current())


def test_pair_sizes_are_the_stated_ones():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    models = {}
    for path in (STUDENT, TEACHER):
        models[path] = MODELS.build(Config.fromfile(str(ROOT / path)).model)
    student, teacher = models[STUDENT], models[TEACHER]
    assert sum(p.numel() for p in student.parameters()) == STUDENT_PARAMS
    assert sum(p.numel() for p in teacher.parameters()) == TEACHER_PARAMS
    assert (student.decoder.num_layers, teacher.decoder.num_layers) == (3, 6)
    assert (student.in_channels, teacher.in_channels) == (128, 128)   # neck output channels
    assert (student.backbone.base_channels, teacher.backbone.base_channels) == (16, 32)
    assert student.num_queries == teacher.num_queries == 30
    assert student.bbox_head.num_classes == teacher.bbox_head.num_classes == 10


def test_logit_recipe_trains_with_the_head_layouts(tiny_digits_det, tmp_path, monkeypatch):
    from kd.losses import DETRDistillLoss
    shapes = []
    forward = DETRDistillLoss.forward

    def spy(self, student, teacher):
        shapes.append((tuple(student[0].shape), tuple(student[1].shape),
                       tuple(teacher[0].shape), tuple(teacher[1].shape)))
        return forward(self, student, teacher)

    monkeypatch.setattr(DETRDistillLoss, 'forward', spy)
    runner = _build(LOGIT, tiny_digits_det, tmp_path)
    distiller = runner.model
    assert distiller.teacher_side.forward_mode == 'tensor'   # the head needs the decoder
    loss = distiller.entries['detr'].losses[0]
    assert (loss.num_queries, loss.per_layer) == (30, True)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert {'train/student.loss_cls', 'train/student.enc_loss_cls',
            'train/student.dn_loss_cls', 'train/distill.detr'} <= set(scalars)
    value = _scalar(runner, 'train/distill.detr')
    assert math.isfinite(value) and value > 0
    train = [s for s in shapes if s[0][1] == 4]   # batch 4 (the build-time probe has 2)
    assert len(train) == 2                         # one call per iteration
    for s_cls, s_box, t_cls, t_box in train:
        # student: 3 layers, denoising queries in front of its 30 matching queries
        assert s_cls[0] == 3 and s_cls[2] > 30 and s_cls[3] == 10 and s_box[3] == 4
        # teacher in eval mode: 6 layers, its 30 queries, no denoising queries
        assert t_cls == (6, 4, 30, 10) and t_box == (6, 4, 30, 4)


@pytest.mark.parametrize('recipe', list(FEATURE))
def test_feature_recipe_trains_on_the_encoder_outputs(recipe, tiny_digits_det, tmp_path):
    from kd.connectors import ConvConnector, NormConnector
    runner = _build(recipe, tiny_digits_det, tmp_path)
    distiller = runner.model
    assert list(distiller.entries) == ['neck']
    entry = distiller.entries['neck']
    assert distiller.teacher_side.forward_mode == 'extract_feat'   # neck only
    # three levels, each: 1x1 conv 128 -> 128 + batch-statistics BN on the student
    assert len(entry.losses) == 3 and type(entry.losses[0]).__name__ == FEATURE[recipe]
    connectors = list(entry.connectors)
    assert len(connectors) == 3
    for conn in connectors:
        assert isinstance(conn, ConvConnector)
        assert (conn.in_channels, conn.out_channels) == (128, 128)
        assert conn.conv.bias is None and not conn.norm.affine \
            and not conn.norm.track_running_stats
    assert all(isinstance(c, NormConnector) and c.mode == 'batch'
               for c in entry.teacher_connectors)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert 'train/student.loss_cls' in scalars
    assert [k for k in scalars if k.startswith('train/distill.')] == ['train/distill.neck']
    value = _scalar(runner, 'train/distill.neck')
    assert math.isfinite(value) and value > 0


@pytest.mark.parametrize('recipe', list(COMBINED))
def test_logit_and_feature_recipe_logs_each_loss_after_its_schedule(
        recipe, tiny_digits_det, tmp_path, monkeypatch):
    import kd.losses
    feature_type, factor = COMBINED[recipe]
    cls = getattr(kd.losses, feature_type)
    values = []
    forward = cls.forward

    def spy(self, student, teacher, **kwargs):
        out = forward(self, student, teacher, **kwargs)
        values.append(float(out))
        return out

    monkeypatch.setattr(cls, 'forward', spy)
    iters = 3
    torch.manual_seed(0)
    runner = _build(recipe, tiny_digits_det, tmp_path, iters=iters)
    distiller = runner.model
    assert set(distiller.entries) == {'detr', 'neck'}
    assert distiller.teacher_side.forward_mode == 'tensor'
    assert distiller.entries['detr'].schedule is None   # the logit loss: constant weight 1
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert {'train/distill.detr', 'train/distill.neck', 'train/factor.neck'} <= set(scalars)
    assert 'train/factor.detr' not in scalars
    assert math.isfinite(_scalar(runner, 'train/distill.detr'))
    # last step (iteration 2 of 3): the stated schedule, 1 -> 0.1 over the run
    expected = factor(iters - 1, iters)
    assert _scalar(runner, 'train/factor.neck') == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.4 if 'mgd' in recipe else 0.325)
    # distill.neck is the sum of the 3 levels' losses of that step times the factor
    last_step = sum(values[-3:])
    assert _scalar(runner, 'train/distill.neck') == pytest.approx(expected * last_step,
                                                                  rel=1e-5)


def test_exported_student_loads_strictly_and_tools_test_evaluates_it(
        tiny_digits_det, tmp_path, monkeypatch, capsys):
    """Issue 19 item 4: distil 2 iterations, student_last.pth -> the student config."""
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    from tests.test_tools.test_test_tool import _run
    recipe = 'configs/rtdetr/detr_kd_mgd_rtdetr_digits.py'   # connectors and MGD layers too
    runner = _build(recipe, tiny_digits_det, tmp_path / 'train', validate=True)
    runner.train()
    exported = tmp_path / 'train' / 'student_last.pth'
    data = torch.load(exported, map_location='cpu', weights_only=True)
    state = data['state_dict']
    assert not any(k.startswith(('student.', 'entries.', 'teacher')) for k in state)
    trained = runner.model.student.state_dict()
    assert set(state) == set(trained)
    assert all(torch.equal(state[k], trained[k]) for k in state)
    # the plain student config takes it strictly and predicts as the distilled student
    register_all_modules()
    model = MODELS.build(Config.fromfile(str(ROOT / STUDENT)).model)
    model.load_state_dict(state, strict=True)
    model.eval()
    student = runner.model.student.eval()
    x = torch.rand(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    samples = [DetDataSample(metainfo=dict(img_shape=(96, 96), batch_input_shape=(96, 96)))
               for _ in range(2)]
    with torch.no_grad():
        ours = model(x, [s.clone() for s in samples], mode='predict')
        theirs = student(x, [s.clone() for s in samples], mode='predict')
    for a, b in zip(ours, theirs):
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)
    # the same student from the distillation checkpoint, by the export tool's function
    from kd.utils.export import export_student
    again = export_student(str(tmp_path / 'train' / 'iter_2.pth'), str(tmp_path / 'again.pth'))
    assert set(again['state_dict']) == set(state)
    assert all(torch.equal(again['state_dict'][k], state[k]) for k in state)
    # tools/test.py: the student config with the exported file, loaded strictly
    log = _run(monkeypatch, STUDENT, exported, tiny_digits_det, tmp_path / 'eval')
    assert f'strictly ({len(state)} tensors)' in log
    assert 'coco/bbox_mAP' in capsys.readouterr().out


def test_official_checkpoint_round_trip_through_distillation(
        tiny_digits_det, tmp_path, monkeypatch, capsys):
    """official rtdetr_pytorch weights -> kd (converter) -> teacher of a recipe -> export.

    The official layout is built here (tests/test_models/rtdetr_reference.py, random
    weights, the R18-vd backbone and a small transformer: the converter test's model);
    no download. The converted teacher is loaded strictly by the distiller.
    """
    from tests.test_tools.test_rtdetr_converter import _config_file, _official, _tool
    from tests.test_tools.test_test_tool import _run
    official = _official(18)
    src = tmp_path / 'rtdetr_r18vd_official.pth'
    torch.save({'model': official.state_dict()}, src)
    teacher_cfg = _config_file(tmp_path, 18)         # R18-vd, 64-d, 2 layers, 20 queries
    teacher_ckpt = _tool().main([str(src), str(tmp_path / 'teacher_kd.pth'),
                                 '--config', teacher_cfg])
    recipe = tmp_path / 'round_trip.py'
    recipe.write_text(
        f"_base_ = ['kd::{LOGIT.split('configs/', 1)[1]}']\n"
        f"model = dict(teacher=dict(config={teacher_cfg!r}, checkpoint={teacher_ckpt!r}))\n"
        + CONFIDENT)
    runner = build_runner(load_config(str(recipe), _opts(tiny_digits_det, tmp_path / 'kd')))
    teacher = runner.model.teacher
    converted = torch.load(teacher_ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert set(converted) == set(teacher.state_dict())
    assert all(torch.equal(v, converted[k]) for k, v in teacher.state_dict().items())
    runner.train()
    assert math.isfinite(_scalar(runner, 'train/distill.detr'))
    exported = tmp_path / 'kd' / 'student_last.pth'
    log = _run(monkeypatch, STUDENT, exported, tiny_digits_det, tmp_path / 'eval')
    assert 'strictly (' in log and 'coco/bbox_mAP' in capsys.readouterr().out
