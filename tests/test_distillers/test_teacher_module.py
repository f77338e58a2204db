"""The entry's ``teacher_module``: a loss runs a frozen teacher sub-module on student records."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from kd.apis import Distiller
from kd.distillers import SingleTeacherDistiller
from kd.registry import MODELS
from tests.test_distillers.toy_models import toy_batch, toy_cfg, write_toy_teacher


@MODELS.register_module(force=True)
class ThroughTeacherHeadLoss(nn.Module):
    """MSE between the teacher head on student features and the teacher head on its own."""

    def __init__(self):
        super().__init__()
        self.bound = []

    def bind_teacher_module(self, module):
        self.bound.append(module)
        object.__setattr__(self, '_head', module)   # kept out of the module tree

    def forward(self, student, teacher):
        return F.mse_loss(self._head(student), self._head(teacher).detach())


def _distiller(tmp_path, **entry):
    cfg, ckpt, _ = write_toy_teacher(tmp_path, width=8, out=8)
    spec = dict(student='neck', teacher='neck', loss=dict(type='ThroughTeacherHeadLoss'),
                levelwise=False)
    spec.update(entry)
    return SingleTeacherDistiller(student=toy_cfg(width=4, out=8),
                                  teacher=dict(config=cfg, checkpoint=ckpt),
                                  distill=dict(head=spec), probe_shape=(3, 16, 16))


def test_the_loss_gets_the_teacher_module_and_gradients_reach_the_student(tmp_path):
    model = _distiller(tmp_path, teacher_module='head')
    loss_fn = model.entries['head'].losses[0]
    assert loss_fn.bound == [model.teacher.head]
    # hidden: not in the state dict, the parameters (optimizer) or the loss's modules
    assert not any(k.startswith('teacher') or '_head' in k for k in model.state_dict())
    teacher_params = {id(p) for p in model.teacher.parameters()}
    assert not teacher_params & {id(p) for p in model.parameters()}
    assert list(loss_fn.children()) == []
    losses = model.loss(*toy_batch())
    losses['distill.head'].backward()
    assert model.student.neck.lateral[1].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    # moved with the distiller
    model.to(torch.float64)
    assert loss_fn._head.fc.weight.dtype == torch.float64


def test_errors_name_the_fix(tmp_path):
    with pytest.raises(KeyError, match='name them with teacher_module'):
        _distiller(tmp_path)
    with pytest.raises(KeyError, match='Closest names: head'):
        _distiller(tmp_path, teacher_module='haed')
    with pytest.raises(KeyError, match='remove the key'):
        _distiller(tmp_path, teacher_module='head',
                   loss=dict(type='DenseHeadKDLoss'))
    with pytest.raises(TypeError, match='module name'):
        _distiller(tmp_path, teacher_module=3)


def test_plain_pytorch_distiller_binds_too(tmp_path):
    _, _, teacher = write_toy_teacher(tmp_path, width=8, out=8)
    student = MODELS.build(toy_cfg(width=4, out=8))
    distiller = Distiller(student, teacher, distill=dict(head=dict(
        student='neck', teacher='neck', levelwise=False, teacher_module='head',
        loss=dict(type='ThroughTeacherHeadLoss'))), example_inputs=torch.randn(2, 3, 16, 16))
    assert distiller.entries['head'].losses[0].bound == [teacher.head]
