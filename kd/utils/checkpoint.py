"""Safe checkpoint loading on torch >= 2.6.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and refuses
any object that is not a tensor or a plain container.  MMEngine 0.10.7 writes
its ``message_hub`` (``HistoryBuffer`` objects holding numpy arrays and numpy
scalars) into every checkpoint, so ``--resume`` fails with
``WeightsUnpickler error: Unsupported global``.

``kd`` keeps ``weights_only=True`` and allowlists exactly the types MMEngine
itself writes (``torch.serialization.add_safe_globals``).  Nothing else is
allowed: a checkpoint that carries arbitrary code still fails to load.
"""
from __future__ import annotations

import os.path as osp
import re
from typing import Any

import torch

_INSTALLED = False


def _numpy_globals() -> list:
    import numpy as np
    globals_: list = [np.ndarray, np.dtype]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar  # type: ignore
    globals_ += [_reconstruct, scalar]
    # dtype classes (numpy >= 1.25 pickles dtypes through them)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            obj = getattr(dtypes, name)
            if isinstance(obj, type) and issubclass(obj, np.dtype):
                globals_.append(obj)
    return globals_


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as a checkpoint may use it: only HistoryBuffer's statistics.

    ``HistoryBuffer.__getstate__`` stores its statistics methods
    (``min``/``max``/``current``/``mean`` and registered ones); pickle writes
    each as ``getattr(HistoryBuffer, 'min')``.  This stand-in for the builtin
    resolves exactly those and refuses everything else, so allowing it does
    not open ``getattr`` on arbitrary objects.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and isinstance(name, str) and \
            name in HistoryBuffer._statistics_methods and not name.startswith('_'):
        return getattr(HistoryBuffer, name)
    import pickle
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); kd only allows the statistics '
        'methods of mmengine.logging.HistoryBuffer')


def safe_globals() -> list:
    """The exact list of non-tensor globals allowed inside a checkpoint."""
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer()  # registers the default statistics methods on the class
    return [HistoryBuffer,
            (_history_buffer_getattr, '__builtin__.getattr'),
            (_history_buffer_getattr, 'builtins.getattr')] + _numpy_globals()


def install_safe_globals() -> None:
    """Allowlist MMEngine's checkpoint types for ``weights_only`` loading.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    """
    global _INSTALLED
    if _INSTALLED:
        return
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        _INSTALLED = True
        return
    try:
        add(safe_globals())
    except ImportError:  # mmengine not installed: nothing of it to allow
        return
    _INSTALLED = True


def load_checkpoint_file(path: str, map_location: Any = 'cpu',
                         allow_unsafe: bool = False) -> dict:
    """Read a checkpoint file with ``weights_only=True`` and a clear error.

    Args:
        path: the ``.pth`` file.
        map_location: as for :func:`torch.load`.
        allow_unsafe: read it with full unpickling (``weights_only=False``),
            which runs whatever code the file names. Only for files you trust
            that hold types outside the allowlist.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        RuntimeError: the file is not a readable checkpoint (truncated, not a
            torch file), or holds a pickled type outside the allowlist (the
            message names the type).
    """
    install_safe_globals()
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'checkpoint "{path}" does not exist. Check the path, or train the '
            'model first (tools/train.py CONFIG) and point to its .pth file.')
    if allow_unsafe:
        return torch.load(path, map_location=map_location, weights_only=False)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - rewrap for a readable message
        text = str(err)
        found = re.search(r'Unsupported global: GLOBAL ([\w.]+)', text)
        if found:
            raise RuntimeError(
                f'checkpoint "{path}" holds a pickled object of type {found.group(1)}, '
                'which the safe loader refuses: unpickling it would run code named by the '
                'file. If you trust the file, load it with allow_unsafe=True (for a teacher: '
                "teacher=dict(..., allow_unsafe_unpickle=True)); or re-save only its "
                "weights: torch.save({'state_dict': model.state_dict()}, path).") from err
        raise RuntimeError(
            f'could not read checkpoint "{path}": {type(err).__name__}: '
            f'{text.splitlines()[0] if text else ""}. The file may be '
            'truncated (an interrupted save or download) or not a PyTorch '
            'checkpoint; re-create or re-download it.') from err
