"""Distillation in any PyTorch training loop, without configs or MMEngine's Runner.

``Distiller(student, teacher, distill)`` takes two already built ``nn.Module``\\ s
and the same ``distill`` entries as :class:`kd.distillers.SingleTeacherDistiller`
(record specs, ``loss``, ``connector``, ``teacher_connector``, ``levels``,
``share_loss``, ``levelwise``, ``schedule``). It reuses kd's recorders, connectors
and losses directly::

    distiller = Distiller(student, teacher, distill=dict(
        logits=dict(student='fc', teacher='fc', loss=dict(type='KDLoss', tau=4.0))),
        example_inputs=torch.randn(2, 3, 32, 32))
    optimizer = torch.optim.SGD([*student.parameters(), *distiller.parameters()], lr=0.1)
    for x, y in loader:
        with distiller.record():          # the teacher runs (no grad) on the student's input
            logits = student(x)
        loss = F.cross_entropy(logits, y) + sum(distiller.losses().values())
        optimizer.zero_grad(); loss.backward(); optimizer.step()

See ``docs/plain_pytorch.md``.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

# The distill-entry parsing and channel filling of the config-driven distiller, reused
# so both accept exactly the same entries.
from kd.distillers.single_teacher import (
    _accepts,
    _as_levels,
    _Entry,
    _fill_channels,
    _positional_capacity,
    _shape,
)
from kd.engine.schedules import progress_factor
from kd.recorders import RecorderManager, build_recorder
from kd.registry import build_kd_module

__all__ = ['Distiller']


def _as_call(inputs: Any) -> Tuple[tuple, dict]:
    """``example_inputs`` as ``(args, kwargs)``: a tensor, a tuple of args, or a dict."""
    if isinstance(inputs, dict):
        return (), dict(inputs)
    if isinstance(inputs, (tuple, list)):
        return tuple(inputs), {}
    return (inputs, ), {}


@contextlib.contextmanager
def _eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` in eval mode, then restore every sub-module's own flag."""
    flags = [(m, m.training) for module in modules for m in module.modules()]
    try:
        for module in modules:
            module.eval()
        yield
    finally:
        for m, flag in flags:
            m.training = flag


class Distiller(nn.Module):
    """Distillation losses between two plain ``nn.Module``\\ s for a hand-written loop.

    The student and the teacher are *not* sub-modules: ``parameters()``,
    ``state_dict()``, ``to()`` and ``train()`` cover only the connectors and the
    loss modules (VID regressors, CRD embeddings and memory banks, ...), so
    ``distiller.parameters()`` is what to add to the student's optimizer. Move
    the two models yourself. The teacher is frozen (``requires_grad_(False)``)
    and always runs in eval mode under ``torch.no_grad()``.

    Args:
        student: the network being trained.
        teacher: the trained network whose intermediate outputs are the targets.
        distill: ``{name: dict(student=SPEC, teacher=SPEC, loss=CFG, ...)}`` as for
            :class:`~kd.distillers.SingleTeacherDistiller`; a SPEC is a module
            name relative to the model (``'layer3'``, ``'model.17'`` of a
            YOLOv5-style ``nn.Sequential``, ``'0'`` of a bare ``nn.Sequential``),
            a method (``'head.forward'``) or ``dict(source=..., type=
            'module_outputs'|'module_inputs'|'method_outputs', index=i)``.
        example_inputs: one input batch (a tensor, a tuple of positional
            arguments or a dict of keyword arguments) run once through both
            models at construction, on their device: it checks every record,
            counts tuple levels, fills unset connector / loss channels
            (``in_channels``, ``out_channels``, ...) and compares the shapes.
            Without it, connectors and losses need explicit channels and a
            tuple record needs ``levels``.

    Raises:
        TypeError / KeyError / ValueError: a bad entry, record name or shape
            (the message names the entry).
    """

    def __init__(self, student: nn.Module, teacher: nn.Module, distill: Dict[str, dict],
                 example_inputs: Any = None) -> None:
        super().__init__()
        for name, model in (('student', student), ('teacher', teacher)):
            if not isinstance(model, nn.Module):
                raise TypeError(f'{name} must be a torch.nn.Module, got {type(model).__name__}')
        if student is teacher:
            raise ValueError('student and teacher are the same module; for self-distillation '
                             'use kd.distillers.SelfDistiller or pass a copy')
        if not distill:
            raise ValueError('distill needs at least one entry, e.g. dict(logits=dict('
                             "student='fc', teacher='fc', loss=dict(type='KDLoss', tau=4.0)))")
        # not sub-modules: kept out of parameters(), state_dict(), to() and train()
        object.__setattr__(self, 'student', student)
        object.__setattr__(self, 'teacher', teacher)
        teacher.requires_grad_(False)
        teacher.eval()
        self.entries: Dict[str, _Entry] = {
            name: _Entry(name, dict(cfg)) for name, cfg in distill.items()}
        self.connectors = nn.ModuleDict()
        self.teacher_connectors = nn.ModuleDict()
        self.distill_losses = nn.ModuleDict()
        self._progress: Optional[tuple] = None
        self._teacher_ran = False
        self.student_recorders = self._make_recorders('student', student)
        try:
            self.teacher_recorders = self._make_recorders('teacher', teacher)
        except BaseException:
            self.student_recorders.remove()
            raise
        try:
            probe = self._probe(example_inputs) if example_inputs is not None else {}
            for name, entry in self.entries.items():
                s_rec, t_rec = probe.get(name, (None, None))
                self._build_entry(entry, s_rec, t_rec, example_inputs is not None)
        except BaseException:
            self.remove()
            raise

    # ------------------------------------------------------------------ build
    def _make_recorders(self, side: str, model: nn.Module) -> RecorderManager:
        recorders = {}
        for name, entry in self.entries.items():
            spec = entry.student_spec if side == 'student' else entry.teacher_spec
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

    @torch.no_grad()
    def _probe(self, example_inputs: Any) -> Dict[str, tuple]:
        args, kwargs = _as_call(example_inputs)
        try:
            with _eval_mode(self.student):
                with self.teacher_recorders:
                    self.teacher(*args, **kwargs)
                with self.student_recorders:
                    self.student(*args, **kwargs)
                return {name: (self._get(self.student_recorders, name, 'student'),
                               self._get(self.teacher_recorders, name, 'teacher'))
                        for name in self.entries}
        except (KeyError, IndexError) as err:
            # a record that names a missing item: the recorder's message says which
            raise type(err)(f'while probing the models with example_inputs: '
                            f'{err.args[0] if err.args else err}') from err
        except RuntimeError as err:
            raise RuntimeError(
                f'the probe forward of example_inputs through student and teacher failed: '
                f'{type(err).__name__}: {err}') from err
        finally:
            self.reset()

    @staticmethod
    def _get(manager: RecorderManager, name: str, side: str) -> Any:
        try:
            return manager.get(name)
        except (KeyError, IndexError, RuntimeError) as err:
            raise type(err)(f'distill entry "{name}", {side} record: '
                            f'{err.args[0] if err.args else err}') from err

    @staticmethod
    def _select_levels(entry: _Entry, record: Any) -> Any:
        levels = _as_levels(record) if entry.levelwise else None
        if levels is None or entry.levels is None:
            return record
        try:
            return [levels[i] for i in entry.levels]
        except IndexError as err:
            raise IndexError(f'distill entry "{entry.name}": levels={entry.levels} but the '
                             f'record has {len(levels)} levels') from err

    def _items(self, entry: _Entry, s_rec: Any, t_rec: Any) -> Tuple[list, list]:
        """Student and teacher records as per-level lists (one item for a tensor)."""
        s_rec, t_rec = self._select_levels(entry, s_rec), self._select_levels(entry, t_rec)
        if not entry.levelwise:
            return [s_rec], [t_rec]
        s_levels, t_levels = _as_levels(s_rec), _as_levels(t_rec)
        if (s_levels is None) != (t_levels is None) or (
                s_levels is not None and len(s_levels) != len(t_levels)):
            raise ValueError(
                f'distill entry "{entry.name}": the student record has '
                f'{"1 tensor" if s_levels is None else f"{len(s_levels)} levels"} and the '
                f'teacher record has '
                f'{"1 tensor" if t_levels is None else f"{len(t_levels)} levels"} (shapes '
                f'{_shape(s_rec)} vs {_shape(t_rec)}); pick matching levels with '
                '`levels=[...]` or one item with dict(source=..., index=i).')
        if s_levels is None:
            return [s_rec], [t_rec]
        return s_levels, t_levels

    def _build_entry(self, entry: _Entry, s_rec: Any, t_rec: Any, probed: bool) -> None:
        name = entry.name
        if probed:
            s_items, t_items = self._items(entry, s_rec, t_rec)
            is_tuple = entry.levelwise and _as_levels(
                self._select_levels(entry, s_rec)) is not None
            entry.num_levels = len(s_items) if is_tuple else None
        else:
            n = len(entry.levels) if entry.levels is not None else None
            entry.num_levels = n
            s_items = t_items = [None] * (n or 1)

        def build(cfg: Any, srcs: list, refs: list, key: str) -> Optional[nn.ModuleList]:
            if cfg is None:
                return None
            cfgs = list(cfg) if isinstance(cfg, (list, tuple)) else [cfg] * len(srcs)
            if len(cfgs) != len(srcs):
                raise ValueError(f'distill entry "{name}": {key} has {len(cfgs)} configs for '
                                 f'{len(srcs)} levels')
            modules = []
            for i, (c, s, t) in enumerate(zip(cfgs, srcs, refs)):
                c = _fill_channels(dict(c), s, t) if probed else dict(c)
                try:
                    modules.append(build_kd_module(c))
                except (TypeError, KeyError, ValueError) as err:
                    hint = '' if probed else ' (give example_inputs to infer channels)'
                    raise type(err)(f'distill entry "{name}", {key} (level {i}): '
                                    f'{err.args[0] if err.args else err}{hint}') from err
            return nn.ModuleList(modules)

        connectors = build(entry.connector_cfg, s_items, t_items, 'connector')
        t_connectors = build(entry.teacher_connector_cfg, t_items, t_items, 'teacher_connector')
        if connectors is not None:
            self.connectors[name] = connectors
        if t_connectors is not None:
            self.teacher_connectors[name] = t_connectors

        losses = []
        for i in range(1 if entry.share_loss else len(s_items)):
            cfg = copy.deepcopy(dict(entry.loss_cfg))
            if probed:  # losses with their own layers (VID, CRD, MGD) get channels too
                with torch.no_grad(), _eval_mode(self.connectors):
                    s_ref = self._connect(self.connectors, name, i, s_items[i], t_items[i])
                cfg = _fill_channels(cfg, s_ref, t_items[i])
            try:
                losses.append(build_kd_module(cfg))
            except (TypeError, KeyError, ValueError) as err:
                hint = '' if probed else ' (give example_inputs to infer channels)'
                raise type(err)(f'distill entry "{name}", loss {entry.loss_cfg.get("type")!r}: '
                                f'{err.args[0] if err.args else err}{hint}') from err
        forward = losses[0].forward
        if _positional_capacity(forward) < 2:
            raise TypeError(f'distill entry "{name}": {type(losses[0]).__name__}.forward'
                            f'{inspect.signature(forward)} cannot take (student, teacher)')
        entry.pass_data_samples = _accepts(forward, 'data_samples')
        self.distill_losses[name] = nn.ModuleList(losses)

        if probed:
            with torch.no_grad(), _eval_mode(self.connectors, self.teacher_connectors):
                for i, (s, t) in enumerate(zip(s_items, t_items)):
                    s2 = self._connect(self.connectors, name, i, s, t)
                    t2 = self._connect(self.teacher_connectors, name, i, t, s)
                    loss_fn = self.distill_losses[name][0 if entry.share_loss else i]
                    if getattr(loss_fn, 'shape_check', 'same') != 'same':
                        continue  # relation losses compare within each side
                    if isinstance(s2, torch.Tensor) and isinstance(t2, torch.Tensor) \
                            and s2.shape != t2.shape:
                        where = f' level {i}' if entry.num_levels is not None else ''
                        raise ValueError(
                            f'distill entry "{name}"{where}: student feature {tuple(s.shape)} '
                            f'(after connector {tuple(s2.shape)}) does not match teacher '
                            f'feature {tuple(t2.shape)}. Add connector=dict(type='
                            "'ConvConnector') (channels of (N, C, H, W) maps), "
                            "dict(type='LinearConnector') ((N, C) features) or a "
                            'ResizeConnector (H, W) to the entry.')

    @staticmethod
    def _connect(modules: nn.ModuleDict, name: str, level: int, x: Any, ref: Any) -> Any:
        if name not in modules:
            return x
        return modules[name][level](x, ref)

    # ------------------------------------------------------------------- step
    def _teacher_hook(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        if not self._teacher_ran:
            self._run_teacher(args, kwargs)

    def _run_teacher(self, args: tuple, kwargs: dict) -> None:
        if self.teacher.training:
            self.teacher.eval()
        with self.teacher_recorders, torch.no_grad():
            self.teacher(*args, **kwargs)
        self._teacher_ran = True

    @contextlib.contextmanager
    def record(self, *teacher_args: Any, **teacher_kwargs: Any) -> Iterator['Distiller']:
        """Record one step: call the student inside the ``with`` block.

        Without arguments the teacher runs (eval mode, no grad) on the
        arguments of the student's *first* call in the block, just before it;
        ``record(x_t)`` runs it on ``x_t`` instead (e.g. an input normalised for
        the teacher). Records of the previous step are dropped on entry.
        """
        self.reset()
        handle = None
        if teacher_args or teacher_kwargs:
            self._run_teacher(teacher_args, teacher_kwargs)
        else:
            handle = self.student.register_forward_pre_hook(self._teacher_hook,
                                                            with_kwargs=True)
        try:
            with self.student_recorders:
                yield self
        except BaseException:
            self.reset()
            raise
        finally:
            if handle is not None:
                handle.remove()

    def set_progress(self, iteration: int, epoch: int = 0, max_iters: Optional[int] = None,
                     max_epochs: Optional[int] = None) -> None:
        """Where training is, for entries with a ``schedule`` (call it every step)."""
        self._progress = (iteration, epoch, max_iters, max_epochs)

    def factors(self) -> Dict[str, float]:
        """The current weight factor of every entry (1 without a schedule)."""
        factors = {}
        for name, entry in self.entries.items():
            if entry.schedule is None:
                factors[name] = 1.0
            elif self._progress is None:
                raise RuntimeError(f'distill entry "{name}" has a schedule: call '
                                   'distiller.set_progress(iteration, epoch, max_iters, '
                                   'max_epochs) before losses()')
            else:
                factors[name] = progress_factor(entry.schedule, *self._progress)
        return factors

    def losses(self, data_samples: Optional[Sequence[Any]] = None,
               **loss_kwargs: Any) -> Dict[str, torch.Tensor]:
        """The loss of every entry from the records of the last ``record()`` block.

        Args:
            data_samples: passed to losses whose ``forward`` takes ``data_samples``
                (labels for DKD, sample indices for CRD, boxes for FGD ...).
            **loss_kwargs: passed to the losses whose ``forward`` names them, e.g.
                ``gt_labels=y`` (DKD) or ``sample_idx=idx`` (CRD).

        Returns:
            ``{'distill.<entry>': scalar tensor}`` (summed over levels and scaled
            by the entry's schedule; an entry whose factor is 0 is left out). The
            records are dropped afterwards.

        Raises:
            RuntimeError: no ``record()`` block ran the student (or the teacher).
            TypeError: a keyword argument that no entry's loss takes.
        """
        if not self._teacher_ran:
            raise RuntimeError('no record: call the student inside `with distiller.record():` '
                               'before distiller.losses()')
        unused = set(loss_kwargs) - {
            key for losses in self.distill_losses.values() for key in
            inspect.signature(losses[0].forward).parameters}
        if unused:
            raise TypeError(f'no distill loss takes the keyword(s) {sorted(unused)}')
        out: Dict[str, torch.Tensor] = OrderedDict()
        try:
            for name, factor in self.factors().items():
                if factor == 0:
                    continue
                out[f'distill.{name}'] = self._entry_loss(name, data_samples, loss_kwargs) * factor
        finally:
            self.reset()
        return out

    def _entry_loss(self, name: str, data_samples: Any, loss_kwargs: dict) -> torch.Tensor:
        entry = self.entries[name]
        s_items, t_items = self._items(entry, self._get(self.student_recorders, name, 'student'),
                                       self._get(self.teacher_recorders, name, 'teacher'))
        expected = entry.num_levels if entry.num_levels is not None else 1
        if len(s_items) != expected:
            raise ValueError(f'distill entry "{name}": built for {expected} level(s), got '
                             f'{len(s_items)} (student {_shape(s_items)}); give `levels=[...]` '
                             'or example_inputs for tuple records')
        losses = self.distill_losses[name]
        params = inspect.signature(losses[0].forward).parameters
        kwargs = {k: v for k, v in loss_kwargs.items() if k in params}
        if entry.pass_data_samples and data_samples is not None:
            kwargs['data_samples'] = data_samples
        total: Any = 0.
        for i, (s, t) in enumerate(zip(s_items, t_items)):
            s = self._connect(self.connectors, name, i, s, t)
            t = self._connect(self.teacher_connectors, name, i, t, s)
            total = total + losses[0 if entry.share_loss else i](s, t, **kwargs)
        return total

    def reset(self) -> None:
        """Drop the records of both models (no tensor is kept between steps)."""
        self.student_recorders.reset()
        self.teacher_recorders.reset()
        self._teacher_ran = False

    def remove(self) -> None:
        """Detach every recorder hook from the two models; the distiller is unusable after."""
        for manager in (getattr(self, 'student_recorders', None),
                        getattr(self, 'teacher_recorders', None)):
            if manager is not None:
                manager.remove()

    def extra_repr(self) -> str:
        return f'entries={list(self.entries)}'

    def entry_names(self) -> List[str]:
        """The names of the distill entries, in order."""
        return list(self.entries)
