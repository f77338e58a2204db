"""Loss-weight schedules: a factor that is a pure function of training progress.

A distill entry (or the student's task loss) takes
``schedule=dict(type=..., by_epoch=False, warmup=0, ...)``; its factor
multiplies the loss every step. Because the factor depends only on the
iteration (or epoch) and the run's length, ``--resume`` continues it exactly.

Types (``t``: current iteration or epoch, ``p``: progress in [0, 1] between
``begin`` and ``end_at``, which defaults to the run's length):

* ``constant``: ``value`` (default 1.0)
* ``linear``: ``start + (end - start) * p``
* ``cosine``: ``end + (start - end) * (1 + cos(pi * p)) / 2``
* ``step``: ``start * gamma ** (number of milestones <= t)``

Every type takes an optional linear warm-up over the first ``warmup`` steps
(iterations, or epochs with ``by_epoch=True``), ramping a multiplier from
``warmup_start`` (default 0) to 1.
"""
from __future__ import annotations

import math

SCHEDULE_TYPES = ('constant', 'linear', 'cosine', 'step')
_KEYS = {
    'constant': {'value'},
    'linear': {'start', 'end', 'begin', 'end_at'},
    'cosine': {'start', 'end', 'begin', 'end_at'},
    'step': {'start', 'milestones', 'gamma'},
}
_COMMON = {'type', 'by_epoch', 'warmup', 'warmup_start'}


def validate_schedule(cfg: dict, where: str = 'schedule') -> dict:
    """Check a schedule config; return it with defaults filled.

    Raises:
        ValueError / KeyError: unknown type or keys, negative values,
            ``end_at <= begin``, unsorted milestones; the message says where.
    """
    if not isinstance(cfg, dict):
        raise TypeError(f'{where} must be a dict such as dict(type="cosine", start=1.0, '
                        f'end=0.1), got {cfg!r}')
    cfg = dict(cfg)
    kind = cfg.get('type', 'constant')
    if kind not in SCHEDULE_TYPES:
        raise ValueError(f'{where}: unknown schedule type {kind!r}; use one of {SCHEDULE_TYPES}')
    unknown = set(cfg) - _KEYS[kind] - _COMMON
    if unknown:
        raise KeyError(f'{where}: {kind} schedule got unknown keys {sorted(unknown)}; '
                       f'allowed: {sorted(_KEYS[kind] | _COMMON)}')
    cfg['type'] = kind
    cfg.setdefault('by_epoch', False)
    cfg.setdefault('warmup', 0)
    cfg.setdefault('warmup_start', 0.0)
    if kind == 'constant':
        cfg.setdefault('value', 1.0)
    elif kind in ('linear', 'cosine'):
        cfg.setdefault('start', 1.0)
        cfg.setdefault('end', 0.0)
        cfg.setdefault('begin', 0)
        cfg.setdefault('end_at', None)
    else:
        cfg.setdefault('start', 1.0)
        cfg.setdefault('gamma', 0.1)
        if 'milestones' not in cfg:
            raise KeyError(f'{where}: a step schedule needs milestones=[...] '
                           f'({"epochs" if cfg["by_epoch"] else "iterations"})')
        ms = list(cfg['milestones'])
        if ms != sorted(ms):
            raise ValueError(f'{where}: milestones must be increasing, got {ms}')
        cfg['milestones'] = ms
    for key in ('value', 'start', 'end', 'gamma', 'warmup', 'warmup_start', 'begin'):
        if key in cfg and cfg[key] is not None and cfg[key] < 0:
            raise ValueError(f'{where}: {key}={cfg[key]} is negative; loss-weight factors and '
                             'their steps must be >= 0')
    if cfg.get('end_at') is not None and cfg['end_at'] <= cfg.get('begin', 0):
        raise ValueError(f'{where}: end_at={cfg["end_at"]} must be after begin={cfg["begin"]}')
    return cfg


def schedule_factor(cfg: dict, step: int, total: int | None) -> float:
    """The factor of a validated schedule at ``step`` of a run of ``total`` steps.

    ``step`` and ``total`` are iterations, or epochs for ``by_epoch=True``
    (the caller picks). ``total=None`` (unknown length) is only allowed when the
    schedule does not need it (constant, step, or an explicit ``end_at``).
    """
    kind = cfg['type']
    if kind == 'constant':
        factor = float(cfg['value'])
    elif kind == 'step':
        passed = sum(1 for m in cfg['milestones'] if step >= m)
        factor = float(cfg['start']) * float(cfg['gamma']) ** passed
    else:
        end_at = cfg['end_at'] if cfg['end_at'] is not None else total
        if end_at is None:
            raise ValueError(f'a {kind} schedule needs end_at when the run length is unknown')
        begin = cfg['begin']
        progress = min(max((step - begin) / max(end_at - begin, 1e-12), 0.0), 1.0)
        start, end = float(cfg['start']), float(cfg['end'])
        if kind == 'linear':
            factor = start + (end - start) * progress
        else:
            factor = end + (start - end) * (1 + math.cos(math.pi * progress)) / 2
    warmup = cfg['warmup']
    if warmup and step < warmup:
        w0 = float(cfg['warmup_start'])
        factor *= w0 + (1 - w0) * step / warmup
    return factor


def progress_factor(cfg: dict, iteration: int, epoch: int, max_iters: int | None,
                    max_epochs: int | None) -> float:
    """``schedule_factor`` at the runner's progress, by iteration or by epoch."""
    if cfg['by_epoch']:
        return schedule_factor(cfg, epoch, max_epochs)
    return schedule_factor(cfg, iteration, max_iters)

