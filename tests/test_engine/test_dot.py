"""DOTOptimWrapper against two steps worked out by hand, and plain SGD without distillation."""
from __future__ import annotations

import pytest
import torch
from mmengine.model import BaseModel
from torch import nn

from kd.engine import DOTOptimWrapper
from kd.registry import OPTIM_WRAPPERS


class ThreeWeights(BaseModel):
    """task = 2 w1 + 3 w2, distill = 4 w1 + 5 w3: w1 in both, w2 task only, w3 distill only."""

    def __init__(self, distill=True):
        super().__init__()
        self.w1 = nn.Parameter(torch.tensor(1.0, dtype=torch.float64))
        self.w2 = nn.Parameter(torch.tensor(2.0, dtype=torch.float64))
        self.w3 = nn.Parameter(torch.tensor(3.0, dtype=torch.float64))
        self.distill = distill

    def forward(self, inputs=None, data_samples=None, mode='loss'):
        losses = {'loss_cls': 2 * self.w1 + 3 * self.w2}
        if self.distill:
            losses['distill.loss_kd'] = 4 * self.w1 + 5 * self.w3
        return losses


def _wrapper(model, **kwargs):
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    return OPTIM_WRAPPERS.build(dict(type='DOTOptimWrapper', optimizer=sgd, delta=0.075,
                                     **kwargs))


def test_two_steps_by_hand():
    # m_task = 0.825, m_kd = 0.975, (m_task + m_kd) / 2 = 0.9, lr 0.1, wd 0.01
    # step 1: w1: b_t = 2 + 0.01 * 1 = 2.01, b_kd = 4          -> 1 - 0.1 * 6.01 = 0.399
    #         w2: b_t = 3 + 0.02 = 3.02                         -> 2 - 0.302 = 1.698
    #         w3: b_kd = 5 (first distill buffer: no decay)     -> 3 - 0.5 = 2.5
    # step 2: w1: b_t = 0.825 * 2.01 + 2 + 0.00399 = 3.66224, b_kd = 0.975 * 4 + 4 = 7.9
    #             -> 0.399 - 0.1 * 11.56224 = -0.757224
    #         w2: b_t = 0.9 * 3.02 + 3 + 0.01698 = 5.73498      -> 1.698 - 0.573498 = 1.124502
    #         w3: b_kd = 0.9 * 5 + 5 + 0.01 * 2.5 = 9.525       -> 2.5 - 0.9525 = 1.5475
    model = ThreeWeights()
    wrapper = _wrapper(model)
    model.train_step(dict(inputs=None), wrapper)      # the loss dict is taken from the forward
    assert [model.w1.item(), model.w2.item(), model.w3.item()] == pytest.approx(
        [0.399, 1.698, 2.5], abs=1e-12)
    model.train_step(dict(inputs=None), wrapper)
    assert [model.w1.item(), model.w2.item(), model.w3.item()] == pytest.approx(
        [-0.757224, 1.124502, 1.5475], abs=1e-12)
    state = wrapper.optimizer.state
    assert state[model.w1]['momentum_kd_buffer'].item() == pytest.approx(7.9)
    assert 'momentum_kd_buffer' not in state[model.w2]
    assert all(p.grad is None for p in model.parameters())
    # both buffers are in the optimizer's state dict (saved and resumed with it)
    saved = wrapper.state_dict()['state']
    assert {'momentum_buffer', 'momentum_kd_buffer'} <= set(saved[0])


def test_without_distill_losses_it_is_plain_sgd():
    model, ref = ThreeWeights(distill=False), ThreeWeights(distill=False)
    wrapper = _wrapper(model)
    sgd = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    for _ in range(3):
        model.train_step(dict(inputs=None), wrapper)
        sgd.zero_grad()
        sum(ref(None).values()).backward()
        sgd.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        assert a.item() == pytest.approx(b.item(), abs=1e-12)


def test_explicit_distill_loss_and_lr_from_the_param_group():
    model = ThreeWeights()
    wrapper = _wrapper(model)
    wrapper.optimizer.param_groups[0]['lr'] = 0.2         # what an LR scheduler changes
    losses = model(None)
    wrapper.update_params(sum(losses.values()), distill_loss=losses['distill.loss_kd'])
    assert model.w1.item() == pytest.approx(1 - 0.2 * 6.01)


def test_refusals():
    model = ThreeWeights()
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match='accumulative_counts'):
        DOTOptimWrapper(sgd, accumulative_counts=2)
    with pytest.raises(ValueError, match='clip_grad'):
        DOTOptimWrapper(sgd, clip_grad=dict(max_norm=1.0))
    with pytest.raises(TypeError, match='SGD'):
        DOTOptimWrapper(torch.optim.Adam(model.parameters()))
    with pytest.raises(ValueError, match='negative'):
        DOTOptimWrapper(sgd, delta=0.95)
    with pytest.raises(ValueError, match='nesterov'):
        DOTOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True))


def test_in_a_distiller_train_step(tmp_path):
    from kd.distillers import SingleTeacherDistiller
    from tests.test_distillers.toy_models import toy_batch, toy_cfg, write_toy_teacher
    cfg, ckpt, _ = write_toy_teacher(tmp_path)
    model = SingleTeacherDistiller(
        student=toy_cfg(width=4, out=8), teacher=dict(config=cfg, checkpoint=ckpt),
        distill=dict(logits=dict(student='head', teacher='head',
                                 loss=dict(type='KDLoss', tau=4.0))),
        probe_shape=(3, 16, 16))
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='DOTOptimWrapper', delta=0.075,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)))
    inputs, samples = toy_batch()
    batch = dict(inputs=inputs, data_samples=samples)
    before = model.student.head.fc.weight.detach().clone()
    for _ in range(2):
        log = model.train_step(batch, wrapper)
        assert torch.isfinite(log['loss'])
    state = wrapper.optimizer.state[model.student.head.fc.weight]
    assert {'momentum_buffer', 'momentum_kd_buffer'} <= set(state)
    assert not torch.equal(before, model.student.head.fc.weight)
