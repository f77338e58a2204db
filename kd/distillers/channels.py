"""Reading a connector's or a loss's missing arguments from probe records and signatures."""
from __future__ import annotations

import inspect
from typing import Any

import torch

from kd.registry import MODELS

_CHANNEL_ARGS = (('in_channels', 's_ch'), ('out_channels', 't_ch'),
                 ('student_channels', 's_ch'), ('teacher_channels', 't_ch'),
                 ('in_features', 's_last'), ('out_features', 't_last'))


def fill_channels(cfg: dict, student: Any, teacher: Any) -> dict:
    """``cfg`` with its unset channel arguments read from probe features."""
    cfg = dict(cfg)
    cls = cfg['type']
    if isinstance(cls, str):
        cls = MODELS.get(cls if '.' in cls else f'kd.{cls}') or MODELS.get(cls)
    if cls is None or not isinstance(student, torch.Tensor):
        return cfg
    params = inspect.signature(cls.__init__).parameters
    is_t = isinstance(teacher, torch.Tensor)
    found = dict(s_ch=student.shape[1] if student.dim() >= 2 else None,
                 t_ch=teacher.shape[1] if is_t and teacher.dim() >= 2 else None,
                 s_last=student.shape[-1], t_last=teacher.shape[-1] if is_t else None)
    for arg, source in _CHANNEL_ARGS:
        if arg in params and cfg.get(arg) is None:
            cfg[arg] = found[source]
    return cfg


def positional_capacity(fn) -> int:
    """How many positional arguments ``fn`` accepts (a large number for *args)."""
    count = 0
    for p in inspect.signature(fn).parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return 1 << 20
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count
