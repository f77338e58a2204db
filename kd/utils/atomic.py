"""Crash-safe checkpoint files: write to a temporary file, then rename.

A process killed while writing (SIGKILL, a node that goes away) leaves the
previous complete checkpoint in place and at most a stray ``*.tmp.<pid>``
file, never a truncated ``.pth``. ``os.replace`` is atomic on POSIX file
systems when source and destination are in the same directory.

:func:`install_atomic_saves` (run on ``import kd``) makes MMEngine's local
file backend write this way, so every checkpoint a Runner saves is atomic, and
makes ``--resume``/``resume=True`` fall back to the newest checkpoint file in
the work dir when the ``last_checkpoint`` pointer is missing, empty or names a
file that does not exist.
"""
from __future__ import annotations

import glob
import io
import os
import os.path as osp
import re
from typing import Any, Optional

_INSTALLED = False


def atomic_write_bytes(data: bytes, path: str) -> None:
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


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save(obj, path)``, atomically."""
    import torch
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(buffer.getvalue(), path)


_CKPT = re.compile(r'(?:iter|epoch)_(\d+)\.pth$')


def find_latest_checkpoint(path: str) -> Optional[str]:
    """The checkpoint ``last_checkpoint`` names, or else the newest ``iter_N``/``epoch_N``."""
    from mmengine.logging import print_log
    pointer = osp.join(path, 'last_checkpoint')
    named = None
    if osp.exists(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
        if named and osp.isfile(named):
            return named
    found = []
    for file in glob.glob(osp.join(path, '*.pth')):
        match = _CKPT.search(osp.basename(file))
        if match:
            found.append((int(match.group(1)), osp.getmtime(file), file))
    if not found:
        print_log(f'no checkpoint to resume in {path}', logger='current')
        return None
    latest = max(found)[2]
    print_log(f'last_checkpoint in {path} is {"missing" if named is None else "stale"}; '
              f'resuming from the newest checkpoint file {latest}', logger='current', level=30)
    return latest


def install_atomic_saves() -> None:
    """Make MMEngine's local writes atomic and its resume lookup robust (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from mmengine.fileio.backends.local_backend import LocalBackend

    def put(self, obj: bytes, filepath) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)

    LocalBackend.put = put
    LocalBackend.put_text = put_text
    import mmengine.runner.checkpoint as ckpt_module
    import mmengine.runner.runner as runner_module
    ckpt_module.find_latest_checkpoint = find_latest_checkpoint
    runner_module.find_latest_checkpoint = find_latest_checkpoint
    _INSTALLED = True
