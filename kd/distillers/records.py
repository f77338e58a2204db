"""Records: recorder groups of one side, and small helpers on recorded values.

Shared by the student side (the distillers), the teacher side
(:mod:`kd.distillers.teachers`) and the plain-PyTorch :class:`kd.apis.Distiller`.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping

import torch
import torch.nn as nn

from kd.recorders import RecorderManager, build_recorder


def make_recorders(side: str, model: nn.Module, specs: Mapping[str, Any]) -> RecorderManager:
    """One recorder per ``{key: spec}`` on ``model``; errors name the entry and the side."""
    recorders = {}
    for name, spec in specs.items():
        try:
            recorders[name] = build_recorder(spec, model)
        except (KeyError, TypeError, ValueError) as err:
            raise type(err)(f'distill entry "{name}", {side} record {spec!r}: '
                            f'{err.args[0] if err.args else err}') from err
    manager = RecorderManager(recorders)
    for name, recorder in recorders.items():
        try:
            recorder.prepare(model)
        except (KeyError, AttributeError, TypeError) as err:
            manager.remove()
            raise KeyError(f'distill entry "{name}", {side} record: '
                           f'{err.args[0] if err.args else err}') from err
    return manager


def get_record(manager: RecorderManager, name: str, side: str) -> Any:
    """The record ``name`` of ``manager``; a failure names the entry and the side."""
    try:
        return manager.get(name)
    except (KeyError, IndexError, RuntimeError) as err:
        raise type(err)(f'distill entry "{name}", {side} record: '
                        f'{err.args[0] if err.args else err}') from err


def as_levels(record: Any) -> list[Any] | None:
    """A list of per-level items for a tuple/list record, ``None`` for one tensor."""
    if isinstance(record, (list, tuple)):
        return list(record)
    return None


def shape_of(x: Any) -> Any:
    """Shapes of a tensor or of nested lists of tensors (for error messages)."""
    if isinstance(x, torch.Tensor):
        return tuple(x.shape)
    if isinstance(x, (list, tuple)):
        return [shape_of(v) for v in x]
    return type(x).__name__


def float32(record: Any) -> Any:
    """``record`` with its half-precision (bf16/fp16) tensors cast to float32."""
    if isinstance(record, torch.Tensor):
        return record.float() if record.dtype in (torch.bfloat16, torch.float16) else record
    if isinstance(record, (list, tuple)):
        return type(record)(float32(r) for r in record)
    if isinstance(record, dict):
        return {k: float32(v) for k, v in record.items()}
    return record


def detached(record: Any) -> Any:
    """``record`` with every tensor detached (tuples, lists and dicts included)."""
    if isinstance(record, torch.Tensor):
        return record.detach()
    if isinstance(record, (list, tuple)):
        return type(record)(detached(r) for r in record)
    if isinstance(record, dict):
        return {k: detached(v) for k, v in record.items()}
    return record


@contextlib.contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` in eval mode, then restore every sub-module's own flag.

    Build-time calls of connectors run under it, so a probe batch never
    updates a BatchNorm connector's running statistics.
    """
    flags = [(m, m.training) for module in modules for m in module.modules()]
    try:
        for module in modules:
            module.eval()
        yield
    finally:
        for m, flag in flags:
            m.training = flag


@contextlib.contextmanager
def probe_errors(where: str, forward: str, hint: str = '') -> Iterator[None]:
    """Name the probe in errors raised by a probe forward.

    ``where`` completes "while probing the models ..." for a record that names
    a missing item (the recorder's own message says which); ``forward``
    describes the forward for any other failure, followed by ``hint``.
    """
    try:
        yield
    except (KeyError, IndexError) as err:
        raise type(err)(f'while probing the models {where}: '
                        f'{err.args[0] if err.args else err}') from err
    except RuntimeError as err:
        raise RuntimeError(f'{forward} failed: {type(err).__name__}: {err}{hint}') from err
