"""StudentCheckpointHook writes a plain student next to the training checkpoints."""
import pytest
import torch

from tests.test_configs.test_quickstart import _tiny_det_overrides

pytest.importorskip('mmdet')


def test_student_hook_writes_plain_student(tiny_digits_det, tmp_path):
    from mmdet.apis import init_detector

    from kd.apis import build_runner, load_config
    from kd.utils.config import resolve_config_path
    cfg_file = tmp_path / 'recipe.py'
    cfg_file.write_text(
        "_base_ = ['kd::cwd/cwd_retinanet_digits.py']\n"
        "model = dict(teacher=dict(checkpoint=None, allow_random_init=True))\n")
    opts = [o for o in _tiny_det_overrides(tiny_digits_det, tmp_path, iters=2)
            if not o.startswith('model.')]
    cfg = load_config(str(cfg_file), opts + ['model.student.test_cfg.score_thr=0.0'])
    runner = build_runner(cfg)
    runner.train()
    data = torch.load(tmp_path / 'student_last.pth', weights_only=True)
    assert not any(k.startswith(('student.', 'entries.', 'teacher')) for k in data['state_dict'])
    assert data['meta']['dataset_meta']['classes'][0] == '0'
    det = init_detector(resolve_config_path('configs/baselines/retinanet_student_digits.py'),
                        str(tmp_path / 'student_last.pth'), device='cpu')
    assert set(det.state_dict()) == set(data['state_dict'])
    # the distillation checkpoint holds no teacher either
    ckpt = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    assert not any('teacher' in k for k in ckpt['state_dict'])
    assert any(k.startswith('entries.fpn.connectors.') for k in ckpt['state_dict'])
