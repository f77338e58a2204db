"""Choose how DataLoader workers hand tensors to the training process."""
from __future__ import annotations

import torch.multiprocessing as torch_mp
from mmengine.hooks import Hook

from kd.registry import HOOKS


@HOOKS.register_module()
class SharingStrategyHook(Hook):
    """Set PyTorch's tensor sharing strategy for the DataLoader workers of a run.

    With PyTorch's default on Linux, ``file_descriptor``, every tensor a worker
    returns travels as a file descriptor, and each descriptor costs the training
    process a new socket connection with an authentication handshake
    (``multiprocessing.resource_sharer``). Data sets of many small samples pay
    this per sample: a DigitsCls batch (64 images of 32x32 and 64 labels, collated
    as lists) is 128 handshakes. Measured on the 2-core machine with two
    trainings beside it: 46.8 ms per batch with ``file_descriptor``, 25.1 ms with
    ``file_system`` (136 / 35 ms under heavier load; ``docs/benchmark.md``, "Data
    loading"). ``file_system``
    passes shared-memory file names instead; the tensors' values are the same,
    so a run's numbers do not change.

    The strategy is set before the run's loaders start their workers (workers
    inherit it) and the previous one is restored after the run, so other
    runners in the same process keep theirs.

    kd's classification runtime base registers it as
    ``default_hooks.sharing_strategy`` (``=None`` removes it). ``file_system``
    can leave files in ``/dev/shm`` when a process is killed hard (PyTorch's
    ``torch_shm_manager`` removes them otherwise); use ``file_descriptor`` where
    that matters more than the speed.

    Args:
        strategy: one of ``torch.multiprocessing.get_all_sharing_strategies()``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, strategy: str = 'file_system') -> None:
        available = sorted(torch_mp.get_all_sharing_strategies())
        if strategy not in available:
            raise ValueError(f'SharingStrategyHook: strategy {strategy!r} is not available on '
                             f'this platform; choose one of {available} (or remove '
                             '`default_hooks.sharing_strategy` from the config).')
        self.strategy = strategy
        self._previous: str | None = None

    def before_run(self, runner) -> None:
        self._previous = torch_mp.get_sharing_strategy()
        torch_mp.set_sharing_strategy(self.strategy)

    def after_run(self, runner) -> None:
        if self._previous is not None:
            torch_mp.set_sharing_strategy(self._previous)
            self._previous = None
