"""A distillation checkpoint exports to a plain student that MMDetection loads exactly."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

pytest.importorskip('mmdet')

STUDENT = 'configs/baselines/retinanet_student_digits.py'
TEACHER = 'configs/baselines/retinanet_teacher_digits.py'
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _distiller():
    from mmengine.config import Config

    from kd.distillers import SingleTeacherDistiller
    from kd.utils.config import resolve_config_path
    student = Config.fromfile(resolve_config_path(STUDENT)).model
    with_scope = dict(student.to_dict(), _scope_='mmdet')
    return SingleTeacherDistiller(
        student=with_scope, teacher=dict(config=TEACHER, allow_random_init=True),
        distill=dict(fpn=dict(student='neck', teacher='neck',
                              connector=dict(type='ConvConnector'),
                              loss=dict(type='ChannelWiseDivergence'))),
        probe_shape=(3, 96, 96))


def test_distiller_on_retinanet_minimal_teacher_and_keys():
    model = _distiller()
    assert model.teacher_side.forward_mode == 'extract_feat'
    assert len(model.entries['fpn'].connectors) == 3  # one per FPN level, channels 16 -> 64
    for conn in model.entries['fpn'].connectors:
        assert (conn.in_channels, conn.out_channels) == (16, 64)
    keys = set(model.state_dict())
    assert all(k.startswith(('student.', 'entries.fpn.connectors.')) for k in keys)


def test_export_round_trip_into_init_detector(tmp_path):
    from mmdet.apis import init_detector

    from kd.utils.config import resolve_config_path
    model = _distiller()
    ckpt = tmp_path / 'iter_1.pth'
    meta = dict(dataset_meta=dict(classes=tuple(str(i) for i in range(10))), iter=1)
    torch.save({'meta': meta, 'state_dict': model.state_dict(), 'optimizer': {}}, ckpt)
    out = tmp_path / 'student.pth'
    tool = osp.join(ROOT, 'tools/model_converters/export_student.py')
    res = subprocess.run([sys.executable, tool, str(ckpt), '--out', str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    exported = torch.load(out, weights_only=True)
    assert set(exported) == {'meta', 'state_dict'}
    assert exported['meta']['dataset_meta']['classes'][3] == '3'
    det = init_detector(resolve_config_path(STUDENT), str(out), device='cpu')
    assert set(exported['state_dict']) == set(det.state_dict())
    for k, v in model.student.state_dict().items():
        torch.testing.assert_close(det.state_dict()[k], v)
    assert det.dataset_meta['classes'][3] == '3'


def test_export_refuses_plain_checkpoint(tmp_path):
    from kd.utils.export import export_student
    path = tmp_path / 'plain.pth'
    torch.save({'state_dict': {'backbone.w': torch.zeros(1)}}, path)
    with pytest.raises(KeyError, match='not a kd distillation checkpoint'):
        export_student(str(path), str(tmp_path / 'o.pth'))


def test_head_records_run_extract_feat_then_head_only():
    """Head records: the teacher runs backbone, neck and bbox_head, never its loss."""
    from mmengine.config import Config

    from kd.distillers import SingleTeacherDistiller
    from kd.utils.config import resolve_config_path
    student = Config.fromfile(resolve_config_path(STUDENT)).model
    model = SingleTeacherDistiller(
        student=dict(student.to_dict(), _scope_='mmdet'),
        teacher=dict(config=TEACHER, allow_random_init=True),
        distill=dict(cls=dict(student=dict(source='bbox_head', index=0),
                              teacher=dict(source='bbox_head', index=0), levelwise=False,
                              loss=dict(type='DenseHeadKDLoss'))),
        probe_shape=(3, 96, 96))
    assert model.teacher_side.forward_mode == 'head:bbox_head'
    called = []
    model.teacher.bbox_head.loss = lambda *a, **k: called.append(1)
    x = torch.randn(2, 3, 96, 96)
    from kd.distillers.forward import run_forward
    with model.teacher_side.recorders, torch.no_grad():
        run_forward(model.teacher, model.teacher_side.forward_mode, x, None, 'teacher')
    levels = model.teacher_side.recorders.get('cls')
    assert len(levels) == 3 and levels[0].shape == (2, 90, 12, 12) and not called
    model.teacher_side.recorders.reset()
