"""MMEngine's CheckpointHook with crash-safe (atomic) local checkpoint files."""
from __future__ import annotations

from mmengine.fileio import get_file_backend
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook

from kd.registry import HOOKS
from kd.utils.atomic import ATOMIC_LOCAL_BACKEND, register_atomic_backend


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose checkpoints on a local disk are written atomically.

    Every checkpoint it saves (``iter_N``/``epoch_N``, ``best_*``) is written
    to a temporary file in the same directory and renamed into place
    (``kd.utils.atomic.AtomicLocalBackend``), so a process killed while saving
    leaves the previous checkpoint intact instead of a truncated file that
    ``--resume`` would fail on. Arguments are MMEngine's ``CheckpointHook``'s,
    unchanged. A remote ``out_dir`` (``s3://...``) or explicit
    ``file_client_args`` keep MMEngine's backend for that storage.

    The ``last_checkpoint`` pointer is still written by MMEngine with a plain
    ``open``; ``tools/train.py --resume`` therefore checks it and falls back
    to the newest complete ``iter_N``/``epoch_N`` file
    (``kd.utils.atomic.find_latest_checkpoint``).

    Select it in a config (the kd runtime bases do)::

        default_hooks = dict(checkpoint=dict(type='kd.AtomicCheckpointHook', interval=1))
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        register_atomic_backend()

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.file_client_args is None and type(self.file_backend) is LocalBackend:
            self.backend_args = dict(self.backend_args or {}, backend=ATOMIC_LOCAL_BACKEND)
            self.file_backend = get_file_backend(self.out_dir, backend_args=self.backend_args)
