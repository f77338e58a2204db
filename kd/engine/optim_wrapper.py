"""An optimizer wrapper that skips steps whose loss is not finite."""
from __future__ import annotations

import torch
import torch.distributed as dist
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from kd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class SkipNonFiniteOptimWrapper(OptimWrapper):
    """``OptimWrapper`` that drops a step when the total loss is NaN or Inf.

    No backward, no optimizer step (so no momentum or weight-decay update
    either): the weights stay exactly as they were. Under DDP the decision is
    agreed across ranks first (one all-reduce of a flag), so every rank skips
    together and none waits in a gradient all-reduce that never comes.

    ``skipped_steps`` counts the skips; each one is logged with the count.
    Pair it with ``nan_policy='skip'`` in a kd distiller, which names the
    non-finite entries.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skipped_steps = 0

    @staticmethod
    def _all_finite(loss: torch.Tensor) -> bool:
        finite = torch.isfinite(loss.detach()).all().to(torch.float32).reshape(1)
        if dist.is_available() and dist.is_initialized():
            finite = finite.to(loss.device)
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
        return bool(finite.item() > 0)

    def update_params(self, loss: torch.Tensor, step_kwargs: dict | None = None,
                      zero_kwargs: dict | None = None) -> None:
        if not self._all_finite(loss):
            self.skipped_steps += 1
            self.zero_grad(**(zero_kwargs or {}))
            print_log(f'SkipNonFiniteOptimWrapper: non-finite loss ({loss.item()}); step '
                      f'skipped, weights unchanged ({self.skipped_steps} skipped so far)',
                      logger='current', level=30)
            return
        super().update_params(loss, step_kwargs, zero_kwargs)
