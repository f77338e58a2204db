"""SelfDistiller: EMA teacher update formula, frozen, saved, excluded from the optimizer."""
import pytest
import torch

from kd.distillers import SelfDistiller
from kd.utils.export import student_state_dict

from .toy_models import toy_batch, toy_cfg

LOGITS_KD = dict(kd=dict(student='head', teacher='head', loss=dict(type='KDLoss', tau=2.0)))


def _model(**kwargs):
    return SelfDistiller(student=toy_cfg(width=4, out=8), distill=LOGITS_KD,
                         probe_shape=(3, 16, 16), **kwargs)


def test_ema_update_formula_and_optimizer_exclusion():
    torch.manual_seed(0)
    model = _model(momentum=0.9)
    model.train()
    assert not model.teacher.training
    t0 = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    losses = model.loss(*toy_batch())           # step 1: EMA of identical weights
    for k, v in model.teacher.state_dict().items():
        torch.testing.assert_close(v, t0[k])
    total, _ = model.parse_losses(losses)
    total.backward()
    optim.step()
    assert all(p.grad is None for p in model.teacher.parameters())
    s1 = {k: v.clone() for k, v in model.student.state_dict().items()}
    assert not torch.equal(s1['head.fc.weight'], t0['head.fc.weight'])
    model.loss(*toy_batch())                      # step 2: teacher moves 10% to the student
    for k, v in model.teacher.state_dict().items():
        if torch.is_floating_point(v):
            torch.testing.assert_close(v, 0.9 * t0[k] + 0.1 * s1[k])
    assert int(model.ema_updates) == 2


def test_warmup_momentum_and_checkpoint_contents():
    model = _model(momentum=0.999, warmup_iters=100)
    assert model.current_momentum() == pytest.approx(1 / 10)
    model.ema_updates += 5
    assert model.current_momentum() == pytest.approx(6 / 15)
    state = model.state_dict()
    assert any(k.startswith('teacher.') for k in state), 'the EMA teacher is training state'
    assert set(student_state_dict(state)) == set(model.student.state_dict())
    with pytest.raises(ValueError, match='momentum'):
        _model(momentum=1.0)
    with pytest.raises(TypeError, match='teacher'):
        SelfDistiller(student=toy_cfg(), teacher=dict(config='x'), distill=LOGITS_KD)


def test_teacher_restarts_as_copy_after_init_weights():
    model = _model()
    with torch.no_grad():
        model.teacher.head.fc.weight.add_(1.0)
    model.init_weights()
    torch.testing.assert_close(model.teacher.head.fc.weight, model.student.head.fc.weight)
