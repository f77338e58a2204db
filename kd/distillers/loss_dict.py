"""The distiller's loss dict: summing it into ``loss`` and the NaN/Inf policy."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from mmengine.utils import is_list_of

NAN_POLICIES = ('raise', 'skip')


def scale(value: Any, factor: float) -> Any:
    """A loss value (a tensor or a list of tensors) times ``factor``."""
    if isinstance(value, torch.Tensor):
        return value * factor
    return [v * factor for v in value]


def _iteration() -> int | None:
    from mmengine.logging import MessageHub
    return MessageHub.get_current_instance().get_info('iter')


class NonFinitePolicy:
    """What a NaN/Inf ``student.*``/``teacher.*``/``distill.*`` loss does.

    ``'raise'`` stops training with the entry names and the iteration; ``'skip'``
    logs and counts it (``steps``) and leaves the step to
    ``optim_wrapper=dict(type='kd.SkipNonFiniteOptimWrapper')``, which drops it.
    """

    def __init__(self, policy: str = 'raise') -> None:
        if policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy must be 'raise' or 'skip', got {policy!r}")
        self.policy = policy
        self.steps = 0

    def check(self, log_vars: list) -> None:
        checked = [(k, v) for k, v in log_vars
                   if k.startswith(('student.', 'teacher.', 'distill.'))
                   and isinstance(v, torch.Tensor)]
        if not checked:
            return
        # one host sync per step: every bool() of a CUDA tensor waits for the queue, and
        # this runs before backward; the per-key search only follows a failure
        if bool(torch.isfinite(torch.stack([v.detach().float().reshape(())
                                             for _, v in checked])).all()):
            return
        bad = [k for k, v in checked if not torch.isfinite(v).all()]
        it = _iteration()
        where = f' at iteration {it}' if it is not None else ''
        values = ', '.join(f'{k}={float(v):g}' for k, v in log_vars if k in bad)
        if self.policy == 'raise':
            raise FloatingPointError(
                f'non-finite loss{where}: {values}. The weights were not updated. Lower the '
                'learning rate or the loss weight of that entry, check its inputs, or set '
                "nan_policy='skip' with optim_wrapper=dict(type='kd.SkipNonFiniteOptimWrapper')"
                ' to drop such steps.')
        self.steps += 1
        from mmengine.logging import print_log
        print_log(f'non-finite loss{where}: {values} ({self.steps} so far); '
                  'kd.SkipNonFiniteOptimWrapper drops the step', logger='current', level=30)


def parse_losses(losses: dict, policy: NonFinitePolicy) -> tuple[torch.Tensor, OrderedDict]:
    """Sum ``student.*loss*``, ``teacher.*loss*`` and every ``distill.*`` into ``loss``."""
    log_vars = []
    for key, value in losses.items():
        if isinstance(value, torch.Tensor):
            log_vars.append([key, value.mean()])
        elif is_list_of(value, torch.Tensor):
            log_vars.append([key, sum(v.mean() for v in value)])
        else:
            raise TypeError(f'{key} is not a tensor or a list of tensors')
    loss = sum(v for k, v in log_vars if k.startswith('distill.') or
               (k.startswith(('student.', 'teacher.')) and 'loss' in k))
    if not isinstance(loss, torch.Tensor):
        raise RuntimeError('no loss to optimise: every distill entry is switched off '
                           'and calculate_student_loss=False')
    policy.check(log_vars)
    log_vars.insert(0, ['loss', loss])
    return loss, OrderedDict((k, v.detach() if isinstance(v, torch.Tensor) else v)
                             for k, v in log_vars)
