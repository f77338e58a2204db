"""CTKD: the curriculum, the learnable temperature behind gradient reversal, the loss value."""
from __future__ import annotations

import math

import pytest
import torch
from mmengine.logging import MessageHub

from kd.distillers import SingleTeacherDistiller
from kd.losses import CTKDLoss
from kd.losses.logits.ctkd import cosine_lambda, gradient_reversal
from kd.registry import build_kd_module
from tests.test_distillers.toy_models import toy_batch, toy_cfg, write_toy_teacher


def _kd(s, t, tau) -> float:
    """tau^2 * mean_n KL(softmax(t/tau) || softmax(s/tau)) with Python floats."""
    total = 0.0
    for sr, tr in zip(s.tolist(), t.tolist()):
        es = [math.exp(v / tau) for v in sr]
        et = [math.exp(v / tau) for v in tr]
        q = [v / sum(es) for v in es]
        p = [v / sum(et) for v in et]
        total += sum(a * (math.log(a) - math.log(b)) for a, b in zip(p, q))
    return tau**2 * total / len(s)


def official_decay(i, max_value=0.0, min_value=-1.0, loops=10):
    """The reference's CosineDecay.get_value, transcribed: the value that multiplies the grad."""
    i = min(max(i, 0), loops)
    return (math.cos(i * math.pi / loops) + 1.0) * 0.5 * (max_value - min_value) + min_value


def test_cosine_lambda_hand_values_and_the_reference_sign():
    assert cosine_lambda(0) == 0.0
    assert cosine_lambda(5) == pytest.approx(0.5)            # (1 - cos(pi / 2)) / 2
    assert cosine_lambda(10) == pytest.approx(1.0)
    assert cosine_lambda(25) == pytest.approx(1.0)           # clamped after N epochs
    assert cosine_lambda(1) == pytest.approx((1 - math.cos(math.pi / 10)) / 2)   # 0.02447
    for epoch in range(0, 14):
        assert cosine_lambda(epoch) == pytest.approx(-official_decay(epoch), abs=1e-12)
    assert cosine_lambda(3, 0.2, 0.6, 6) == pytest.approx(0.2 + 0.4 * 0.5)


def test_gradient_reversal():
    x = torch.tensor([2.0], requires_grad=True)
    (3 * gradient_reversal(x, 0.25)).sum().backward()
    assert gradient_reversal(x, 0.25).item() == 2.0
    assert x.grad.item() == pytest.approx(-0.75)


def test_loss_value_initial_temperature_and_reversed_gradient():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(4, 5, generator=g, dtype=torch.float64) * 3
    t = torch.randn(4, 5, generator=g, dtype=torch.float64) * 3
    loss_fn = CTKDLoss(loss_weight=0.9).double()
    # theta = 1: tau = 1 + 20 * sigmoid(1) = 1 + 20 / (1 + e^-1) = 15.6212
    tau0 = 1 + 20 / (1 + math.exp(-1))
    s.requires_grad_(True)
    loss = loss_fn(s, t, epoch=4)          # 0-based epoch 4 -> n = 5 -> lambda = 1/2
    assert loss_fn.last_tau == pytest.approx(tau0)
    assert loss.item() == pytest.approx(0.9 * _kd(s.detach(), t, tau0), rel=1e-9)
    loss.backward()
    # d loss / d theta by central differences of the plain formula, then reversed and halved
    h = 1e-5

    def at(theta):
        return 0.9 * _kd(s.detach(), t, 1 + 20 / (1 + math.exp(-theta)))
    dtheta = (at(1 + h) - at(1 - h)) / (2 * h)
    assert loss_fn.temperature.theta.grad.item() == pytest.approx(-0.5 * dtheta, rel=1e-5)
    assert s.grad.abs().sum() > 0
    # at the very start (lambda = 0) the temperature gets no gradient
    loss_fn.zero_grad()
    loss_fn(s, t, epoch=-1).backward()
    assert loss_fn.temperature.theta.grad.item() == 0.0


def test_epoch_from_the_message_hub_and_warning():
    hub = MessageHub.get_instance('ctkd_test_hub')
    hub.update_info('epoch', 9)                      # 0-based 9 -> n = 10 -> lambda = 1
    assert CTKDLoss().current_lambda() == pytest.approx(1.0)
    hub.update_info('epoch', 0)
    assert CTKDLoss(lambda_epochs=2).current_lambda() == pytest.approx(0.5)


def test_errors_build_and_distiller(tmp_path):
    with pytest.raises(ValueError, match='tau_min'):
        CTKDLoss(tau_min=0.0)
    with pytest.raises(ValueError, match='same shape'):
        CTKDLoss()(torch.ones(2, 3), torch.ones(2, 4))
    assert type(build_kd_module(dict(type='CTKDLoss'))) is CTKDLoss
    cfg, ckpt, _ = write_toy_teacher(tmp_path)
    model = SingleTeacherDistiller(
        student=toy_cfg(width=4, out=8), teacher=dict(config=cfg, checkpoint=ckpt),
        distill=dict(logits=dict(student='head', teacher='head', loss=dict(type='CTKDLoss'))),
        probe_shape=(3, 16, 16))
    # the temperature is a trainable parameter of the distiller (so in the optimizer)
    names = [n for n, p in model.named_parameters() if n.endswith('temperature.theta')]
    assert names and all(p.requires_grad for n, p in model.named_parameters() if n in names)
    losses = model.loss(*toy_batch())
    assert torch.isfinite(losses['distill.logits'])
