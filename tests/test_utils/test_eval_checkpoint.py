"""The evaluated checkpoint is loaded strictly; a distiller checkpoint is unwrapped."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from kd.utils.eval_checkpoint import (
    CheckpointMismatchError,
    load_checkpoint_strictly,
    match_state_dict,
    student_model_cfg,
    use_student_for_test,
)


class _Tiny(nn.Module):
    def __init__(self, width=3):
        super().__init__()
        self.body = nn.Linear(2, width)
        self.norm = nn.BatchNorm1d(width)
        self.head = nn.Linear(width, 1)


def _distiller_state(student: nn.Module) -> dict:
    state = {f'student.{k}': v.clone() for k, v in student.state_dict().items()}
    state['connectors.fpn.0.weight'] = torch.ones(4, 3)
    state['connectors.fpn.1.weight'] = torch.ones(4, 3)
    state['distill_losses.fpn.0.gc.weight'] = torch.ones(2)
    return state


def test_distiller_checkpoint_is_unwrapped_into_the_student(tmp_path):
    torch.manual_seed(0)
    trained = _Tiny()
    path = str(tmp_path / 'iter_10.pth')
    torch.save({'meta': {'experiment_name': 'cwd_run'},
                'state_dict': _distiller_state(trained)}, path)
    fresh = _Tiny()
    assert not torch.equal(fresh.body.weight, trained.body.weight)
    lines = []
    meta = load_checkpoint_strictly(fresh, path, log=lines.append)
    assert meta == {'experiment_name': 'cwd_run'}
    for key, value in trained.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    n_student = len(trained.state_dict())   # 2 + 2 + 5 (BN: weight, bias, 3 buffers)
    assert n_student == 9
    assert len(lines) == 2
    assert 'is a distillation checkpoint' in lines[0]
    assert f'student.* weights ({n_student} tensors)' in lines[0]
    assert 'dropped 3 tensors' in lines[0]
    assert 'connectors.*: 2' in lines[0] and 'distill_losses.*: 1' in lines[0]
    assert f'strictly ({n_student} tensors)' in lines[1]


def test_plain_and_ddp_checkpoints_load_without_a_note(tmp_path):
    src = _Tiny()
    path = str(tmp_path / 'plain.pth')
    torch.save({'state_dict': {f'module.{k}': v for k, v in src.state_dict().items()}}, path)
    dst = _Tiny()
    lines = []
    load_checkpoint_strictly(dst, path, log=lines.append)
    assert torch.equal(dst.head.weight, src.head.weight)
    assert len(lines) == 1 and 'distillation' not in lines[0]


def test_other_keys_are_refused_with_counts_and_fix():
    model = _Tiny()
    state = {f'backbone.layer{i}.weight': torch.zeros(1) for i in range(7)}
    state['head.weight'] = model.head.weight.detach().clone()
    with pytest.raises(CheckpointMismatchError) as err:
        match_state_dict(state, model, 'ckpt.pth', config='cfg.py',
                         meta={'experiment_name': 'teacher_run'}, log=lambda m: None)
    msg = str(err.value)
    # 9 model keys, only head.weight present: 8 missing; 7 unexpected, 5 shown
    assert '8 missing keys' in msg and '7 unexpected keys' in msg
    assert 'backbone.layer0.weight' in msg and '(+2 more)' in msg and '(+3 more)' in msg
    assert 'config "cfg.py"' in msg and 'teacher_run' in msg
    assert 'Give the config the checkpoint was trained with' in msg


def test_shape_mismatch_is_refused():
    model = _Tiny(width=3)
    state = _Tiny(width=4).state_dict()
    with pytest.raises(CheckpointMismatchError, match=r'shape mismatches: .*\(4, 2\) in the '
                       r'checkpoint vs \(3, 2\) in the model'):
        match_state_dict(state, model, 'ckpt.pth', log=lambda m: None)


def test_distiller_checkpoint_of_another_student_is_refused():
    state = _distiller_state(_Tiny(width=4))
    lines = []
    with pytest.raises(CheckpointMismatchError, match='whose student was not built from '
                       'this config'):
        match_state_dict(state, _Tiny(width=3), 'ckpt.pth', log=lines.append)
    assert 'distillation checkpoint' in lines[0]   # the unwrapping was said first


def _distiller_cfg(student, **extra):
    return Config(dict(model=dict(
        type='kd.SingleTeacherDistiller', student=student,
        teacher=dict(config='teacher.py', checkpoint='/nowhere/teacher.pth'),
        distill=dict(), recipe_dir='/nowhere', **extra)))


def test_recipe_is_replaced_by_its_student():
    student = dict(type='ToyDetector', width=3)
    cfg = _distiller_cfg(student)
    note = use_student_for_test(cfg)
    assert cfg.model == student
    assert 'evaluating its student' in note and 'not needed' in note
    assert use_student_for_test(cfg) is None   # a plain model config: nothing to do


def test_student_from_a_config_file_keeps_its_scope(tmp_path):
    (tmp_path / 'student.py').write_text(
        "default_scope = 'mmdet'\nmodel = dict(type='RetinaNet', num=1)\n")
    cfg = _distiller_cfg(dict(config='student.py'),
                         data_preprocessor=dict(type='DetDataPreprocessor', mean=[1, 2, 3]))
    cfg.model.recipe_dir = str(tmp_path)
    out = student_model_cfg(cfg.model, cfg.model.recipe_dir)
    assert out == dict(type='RetinaNet', num=1, _scope_='mmdet',
                       data_preprocessor=dict(type='DetDataPreprocessor', mean=[1, 2, 3]))


def test_model_file_student_keeps_the_distiller_without_teacher_files():
    cfg = _distiller_cfg(dict(model_file='pruned.pth', allow_unsafe_unpickle=True))
    note = use_student_for_test(cfg)
    assert cfg.model.type == 'kd.SingleTeacherDistiller'
    assert cfg.model.teacher.checkpoint is None and cfg.model.teacher.allow_random_init
    assert 'model_file' in note
