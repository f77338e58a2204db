"""Crash-safe checkpoint files: write to a temporary file, then rename.

A process killed while writing (SIGKILL, a node that goes away) leaves the
previous complete checkpoint in place and at most a stray ``*.tmp.<pid>``
file, never a truncated ``.pth``. ``os.replace`` is atomic on POSIX file
systems when source and destination are in the same directory.

Nothing here changes MMEngine. A Runner's checkpoints become atomic when the
config selects ``kd.AtomicCheckpointHook`` (the kd runtime bases do), which
saves through :class:`AtomicLocalBackend`, a file backend registered with
MMEngine's own ``register_backend`` under :data:`ATOMIC_LOCAL_BACKEND`.
:func:`find_latest_checkpoint` is what ``tools/train.py --resume`` uses to
pick the checkpoint to resume from.
"""
from __future__ import annotations

import glob
import io
import os
import os.path as osp
import re
from pathlib import Path
from typing import Any

from mmengine.fileio.backends import LocalBackend

#: name of :class:`AtomicLocalBackend` among MMEngine's file backends
ATOMIC_LOCAL_BACKEND = 'kd_atomic_local'


def atomic_write_bytes(data: bytes, path: str | Path) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path = os.fspath(path)
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f'{path}.tmp.{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save(obj, path)``, atomically."""
    import torch
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(buffer.getvalue(), path)


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend whose ``put``/``put_text`` are atomic.

    Reads, listings and removals are MMEngine's own; only the two write methods
    go through a temporary file and ``os.replace``. Select it with
    ``backend_args=dict(backend='kd_atomic_local')`` once
    :func:`register_atomic_backend` has run (``kd.AtomicCheckpointHook`` does
    both).
    """

    def put(self, obj: bytes, filepath: str | Path) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)


def register_atomic_backend() -> None:
    """Register :class:`AtomicLocalBackend` with MMEngine as ``'kd_atomic_local'``.

    Uses MMEngine's public ``register_backend`` (an addition to its table of
    backends, with no URI prefix, so no other path changes backend).
    Idempotent; refuses to replace a different backend of the same name.
    """
    from mmengine.fileio import register_backend
    from mmengine.fileio.io import backends
    registered = backends.get(ATOMIC_LOCAL_BACKEND)
    if registered is AtomicLocalBackend:
        return
    if registered is not None:
        raise RuntimeError(
            f'another file backend ({registered.__module__}.{registered.__qualname__}) is '
            f'registered with MMEngine as "{ATOMIC_LOCAL_BACKEND}"; kd needs that name for '
            'kd.utils.atomic.AtomicLocalBackend. Register yours under another name.')
    register_backend(ATOMIC_LOCAL_BACKEND, AtomicLocalBackend)


_CKPT = re.compile(r'(?:iter|epoch)_(\d+)\.pth$')


def find_latest_checkpoint(work_dir: str | Path) -> str | None:
    """The checkpoint to resume from in ``work_dir``, or ``None`` when there is none.

    The file that ``last_checkpoint`` names when it exists; otherwise (the
    pointer is missing, empty because a kill cut its write short, or names a
    file that was never finished) the ``iter_N.pth``/``epoch_N.pth`` with the
    largest ``N``. MMEngine's own lookup trusts the pointer and fails on a
    stale one.
    """
    from mmengine.logging import print_log
    work_dir = os.fspath(work_dir)
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.exists(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
        if named and osp.isfile(named):
            return named
    found = []
    for file in glob.glob(osp.join(glob.escape(work_dir), '*.pth')):
        match = _CKPT.search(osp.basename(file))
        if match:
            found.append((int(match.group(1)), osp.getmtime(file), file))
    if not found:
        print_log(f'no checkpoint to resume in {work_dir}', logger='current')
        return None
    latest = max(found)[2]
    print_log(f'last_checkpoint in {work_dir} is {"missing" if named is None else "stale"}; '
              f'resuming from the newest checkpoint file {latest}', logger='current', level=30)
    return latest
