"""Distillation-oriented trainer (DOT, Zhao et al., ICCV 2023) as an MMEngine optimizer wrapper.

Paper:
    B. Zhao, Q. Cui, R. Song, J. Liang. "DOT: A Distillation-Oriented Trainer".
    ICCV 2023, arXiv:2307.08436.

DOT changes the update, not the loss: SGD keeps *two* momentum buffers, one
for the gradient of the task loss ``g_task`` (the student's own losses) and
one for the gradient of the distillation loss ``g_kd`` (every ``distill.*``
entry), with the momentum ``m - delta`` for the task and ``m + delta`` for
distillation, so the distillation direction is smoothed more and dominates::

    params with both gradients:  b_task = (m - delta) b_task + g_task + wd * p
                                 b_kd   = (m + delta) b_kd   + g_kd
    task gradient only:          b_task = m b_task + g_task + wd * p
    distill gradient only:       b_kd   = m b_kd   + g_kd   + wd * p
    p <- p - lr * (b_task + b_kd)

A buffer's first value is its gradient (``+ wd * p`` for the task buffer;
the distill buffer of a distill-only parameter starts without weight decay,
as in the reference). ``dampening`` multiplies the new gradient by
``1 - dampening`` after the first step.

Reference implementation: megvii-research/mdistiller, ``mdistiller/engine/dot.py``
(``DistillationOrientedTrainer``: ``step_kd`` after ``loss_kd.backward(retain_graph=True)``,
then ``step`` after ``loss_ce.backward()``) and ``trainer.py::DOT``
(``momentum = MOMENTUM - DOT.DELTA``, ``momentum_kd = MOMENTUM + DOT.DELTA``,
``DELTA = 0.075`` on CIFAR-100). kd computes ``g_kd`` with
``torch.autograd.grad(distill, params, retain_graph=True)`` and ``g_task``
with ``task.backward()``; a parameter "has" a gradient when it is in that loss's
graph, as with the reference's ``p.grad is not None``.

How the wrapper sees the two losses: ``optim_context(model)`` (MMEngine's
``BaseModel.train_step`` enters it before the forward) puts a forward hook on
the model that keeps the loss dict the forward returns; ``update_params``
sums its ``distill.*`` values into the distillation loss and its other
``*loss*`` values into the task loss (as kd's ``parse_losses`` does: the mean
of each tensor, lists summed), and checks that the two add up to the total. A
step without any ``distill.*`` tensor (distillation stopped) is a plain SGD
step with momentum ``m`` (every parameter is task-only).

Arguments:
    optimizer: a ``torch.optim.SGD`` (its ``lr``, ``momentum``, ``weight_decay``
        and ``dampening`` per parameter group; learning-rate and momentum
        schedulers work as usual; ``nesterov`` is refused). Its own ``step``
        is never called; both buffers live in its ``state`` (saved and resumed
        with the optimizer).
    delta: the momentum split (0.075 in the paper's CIFAR-100 runs).
    distill_prefix: loss-dict keys counted as distillation.

Not supported (refused with a message): gradient accumulation, gradient
clipping, a DistributedDataParallel model (two backward passes per forward).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import torch
from mmengine.optim import OptimWrapper
from torch import Tensor, nn

from kd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class DOTOptimWrapper(OptimWrapper):
    """SGD with separate momenta for the task and the distillation gradients (DOT).

    Args:
        optimizer: a ``torch.optim.SGD``.
        delta: task momentum ``m - delta``, distillation momentum ``m + delta``.
        distill_prefix: loss-dict keys that are distillation losses.
        **kwargs: ``OptimWrapper`` arguments (``accumulative_counts`` must be 1,
            ``clip_grad`` unset).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, delta: float = 0.075,
                 distill_prefix: str = 'distill.', **kwargs) -> None:
        if kwargs.get('accumulative_counts', 1) != 1:
            raise ValueError('DOTOptimWrapper does not accumulate gradients; '
                             'use accumulative_counts=1')
        if kwargs.get('clip_grad') is not None:
            raise ValueError('DOTOptimWrapper does not clip gradients (the task and the '
                             'distillation gradients are applied separately); drop clip_grad')
        super().__init__(optimizer, **kwargs)
        if not isinstance(optimizer, torch.optim.SGD):
            raise TypeError('DOTOptimWrapper needs optimizer=dict(type="SGD", lr=..., '
                            f'momentum=..., weight_decay=...), got {type(optimizer).__name__}')
        for group in optimizer.param_groups:
            if group.get('nesterov', False):
                raise ValueError('DOTOptimWrapper: nesterov momentum is not part of DOT')
            m = group['momentum']
            if m - delta < 0:
                raise ValueError(f'DOTOptimWrapper: momentum {m} - delta {delta} is negative')
        if delta < 0:
            raise ValueError(f'DOTOptimWrapper: delta must be >= 0, got {delta}')
        self.delta = float(delta)
        self.distill_prefix = distill_prefix
        self._captured: dict[str, Any] | None = None
        self._watched: set = set()

    # ------------------------------------------------------------------ losses
    def _capture(self, module: nn.Module, args: Any, output: Any) -> None:
        if isinstance(output, dict) and module.training:
            self._captured = output

    def watch(self, model: nn.Module) -> None:
        """Keep the loss dict of ``model``'s forward (once per model)."""
        from torch.nn.parallel import DistributedDataParallel
        if isinstance(model, DistributedDataParallel):
            raise NotImplementedError(
                'DOTOptimWrapper runs two backward passes per forward, which '
                'DistributedDataParallel does not allow; train on one device')
        if id(model) not in self._watched:
            model.register_forward_hook(self._capture)
            self._watched.add(id(model))

    @contextmanager
    def optim_context(self, model: nn.Module):
        self.watch(model)
        with super().optim_context(model):
            yield

    def split_losses(self, losses: dict[str, Any] | None
                     ) -> tuple[Tensor | None, Tensor | None]:
        """``(task, distill)`` sums of a loss dict (None for a part that is absent).

        ``distill``: every ``distill_prefix`` value; ``task``: every other value
        whose key contains ``loss`` (``student.loss_cls``, ``teacher.*loss*``).
        Each value counts by its mean, lists summed, as kd's ``parse_losses`` does.
        """
        task: list[Tensor] = []
        distill: list[Tensor] = []
        for key, value in (losses or {}).items():
            values = value if isinstance(value, (list, tuple)) else [value]
            values = [v.mean() for v in values if isinstance(v, Tensor) and v.requires_grad]
            if key.startswith(self.distill_prefix):
                distill += values
            elif 'loss' in key:
                task += values
        return (sum(task) if task else None), (sum(distill) if distill else None)

    # ------------------------------------------------------------------ update
    def update_params(self, loss: Tensor, step_kwargs: dict | None = None,
                      zero_kwargs: dict | None = None,
                      distill_loss: Tensor | None = None) -> None:
        """One DOT step from the total ``loss``.

        Args:
            loss: the total loss (task + distillation).
            step_kwargs: unused (kept for the ``OptimWrapper`` interface).
            zero_kwargs: unused.
            distill_loss: the distillation part, for a caller without a watched
                model; the task part is then ``loss - distill_loss`` (every
                parameter of either loss then counts as having both gradients).
                Default: the parts of the loss dict the watched model returned.

        Raises:
            RuntimeError: the watched model's task and distill losses do not add
                up to ``loss`` (a model that sums other keys).
        """
        captured, self._captured = self._captured, None
        if distill_loss is not None:
            task, kd = loss - distill_loss, distill_loss
        elif captured is not None:
            task, kd = self.split_losses(captured)
            parts = sum(float(x.detach()) for x in (task, kd) if x is not None)
            if abs(parts - float(loss.detach())) > 1e-4 * max(1.0, abs(float(loss.detach()))):
                raise RuntimeError(
                    f'DOTOptimWrapper: the loss {float(loss):.6g} is not the sum of the '
                    f'task losses (keys with "loss") and the {self.distill_prefix}* losses '
                    f'of the model\'s loss dict ({parts:.6g}); pass distill_loss= explicitly')
        else:
            task, kd = loss, None
        groups = [[p for p in g['params'] if p.requires_grad]
                  for g in self.optimizer.param_groups]
        flat = [p for ps in groups for p in ps]
        self.optimizer.zero_grad(set_to_none=True)
        kd_grads: list[Tensor | None] = [None] * len(flat)
        if kd is not None:
            kd_grads = list(torch.autograd.grad(kd, flat, retain_graph=task is not None,
                                                allow_unused=True))
        if task is not None:
            self.backward(task)
        else:
            self._inner_count += 1
        self._dot_step(groups, kd_grads)
        self.optimizer.zero_grad(set_to_none=True)

    @torch.no_grad()
    def _dot_step(self, groups: list[list[Tensor]], kd_grads: list[Tensor | None]) -> None:
        i = 0
        for group, params in zip(self.optimizer.param_groups, groups):
            lr, wd = group['lr'], group['weight_decay']
            damp = group.get('dampening', 0.0)
            m = group['momentum']
            m_task, m_kd = m - self.delta, m + self.delta
            m_avg = (m_task + m_kd) / 2.0
            for p in params:
                g_kd, i = kd_grads[i], i + 1
                g_task = p.grad
                state = self.optimizer.state[p]
                update = None
                if g_task is not None:
                    d = g_task.add(p, alpha=wd) if wd != 0 else g_task
                    if m_task != 0:
                        buf = state.get('momentum_buffer')
                        if buf is None:
                            buf = d.detach().clone()
                        else:
                            buf.mul_(m_task if g_kd is not None else m_avg).add_(
                                d, alpha=1 - damp)
                        state['momentum_buffer'] = buf
                        d = buf
                    update = d
                if g_kd is not None:
                    buf = state.get('momentum_kd_buffer')
                    if buf is None:
                        buf = g_kd.detach().clone()
                    elif g_task is not None:
                        buf.mul_(m_kd).add_(g_kd, alpha=1 - damp)
                    else:
                        d = g_kd.add(p, alpha=wd) if wd != 0 else g_kd
                        buf.mul_(m_avg).add_(d, alpha=1 - damp)
                    state['momentum_kd_buffer'] = buf
                    update = buf if update is None else update + buf
                if update is not None:
                    p.add_(update, alpha=-lr)
