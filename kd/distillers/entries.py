"""The ``distill`` entries: parsing, building and computing, shared by every distiller.

:class:`~kd.distillers.SingleTeacherDistiller` (and the distillers built on it)
and the config-free :class:`kd.apis.Distiller` accept exactly the same entries
and must build and compute them the same way. Both inherit :class:`EntryModules`,
which owns

* the recorders of one side (``_make_recorders``),
* the split of a record into levels (``levels``, ``levelwise``),
* the connectors and losses of an entry, with channels filled from the probe
  records, the shape check and a trial call of the loss (``_build_entry``),
* the loss of an entry from two records (``_entry_loss``).

What differs between the two - how the models run, where the teacher's records
come from, what a missing probe means - stays in the distillers.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn

from kd.engine.schedules import validate_schedule
from kd.recorders import RecorderManager, build_recorder
from kd.registry import MODELS, build_kd_module


def _as_levels(record: Any) -> Optional[List[Any]]:
    """A list of per-level items for a tuple/list record, ``None`` for one tensor."""
    if isinstance(record, (list, tuple)):
        return list(record)
    return None


def _shape(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return tuple(x.shape)
    if isinstance(x, (list, tuple)):
        return [_shape(v) for v in x]
    return type(x).__name__


def _accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def _positional_capacity(fn) -> int:
    """How many positional arguments ``fn`` accepts (a large number for *args)."""
    params = inspect.signature(fn).parameters.values()
    count = 0
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            return 1 << 20
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def _fill_channels(cfg: dict, student: Any, teacher: Any) -> dict:
    """Fill unset channel arguments of a connector config from probe features."""
    cfg = dict(cfg)
    cls = cfg['type']
    if isinstance(cls, str):
        cls = MODELS.get(cls if '.' in cls else f'kd.{cls}') or MODELS.get(cls)
    if cls is None or not isinstance(student, torch.Tensor):
        return cfg
    params = inspect.signature(cls.__init__).parameters
    s_ch = student.shape[1] if student.dim() >= 2 else None
    t_ch = teacher.shape[1] if isinstance(teacher, torch.Tensor) and teacher.dim() >= 2 else None
    s_last = student.shape[-1]
    t_last = teacher.shape[-1] if isinstance(teacher, torch.Tensor) else None
    if 'in_channels' in params and cfg.get('in_channels') is None:
        cfg['in_channels'] = s_ch
    if 'out_channels' in params and cfg.get('out_channels') is None:
        cfg['out_channels'] = t_ch
    if 'student_channels' in params and cfg.get('student_channels') is None:
        cfg['student_channels'] = s_ch
    if 'teacher_channels' in params and cfg.get('teacher_channels') is None:
        cfg['teacher_channels'] = t_ch
    if 'in_features' in params and cfg.get('in_features') is None:
        cfg['in_features'] = s_last
    if 'out_features' in params and cfg.get('out_features') is None:
        cfg['out_features'] = t_last
    return cfg


@contextlib.contextmanager
def _eval_mode(*modules: nn.Module) -> Iterator[None]:
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


class _Entry:
    """The parsed form of one ``distill`` entry (plain data, no parameters)."""

    def __init__(self, name: str, cfg: dict):
        known = {'student', 'teacher', 'loss', 'connector', 'teacher_connector', 'levels',
                 'share_loss', 'levelwise', 'schedule'}
        unknown = set(cfg) - known
        if unknown:
            raise KeyError(f'distill entry "{name}" has unknown keys {sorted(unknown)}; '
                           f'allowed keys: {sorted(known)}')
        for key in ('student', 'teacher', 'loss'):
            if key not in cfg:
                raise KeyError(f'distill entry "{name}" needs "{key}" (e.g. '
                               "dict(student='neck', teacher='neck', "
                               "loss=dict(type='ChannelWiseDivergence')))")
        self.name = name
        self.student_spec = cfg['student']
        self.teacher_spec = cfg['teacher']
        self.loss_cfg = cfg['loss']
        self.connector_cfg = cfg.get('connector')
        self.teacher_connector_cfg = cfg.get('teacher_connector')
        self.levels: Optional[List[int]] = cfg.get('levels')
        self.share_loss = bool(cfg.get('share_loss', False))
        # levelwise=False hands whole tuple records to one loss (IRG across layers)
        self.levelwise = bool(cfg.get('levelwise', True))
        self.schedule = validate_schedule(cfg['schedule'], f'distill entry "{name}" schedule') \
            if cfg.get('schedule') is not None else None
        self.num_levels: Optional[int] = None   # None: a single tensor record
        self.pass_data_samples = False
        self.loss_params: frozenset = frozenset()   # the loss forward's argument names


class EntryModules:
    """Recorders, connectors and losses of the ``distill`` entries (a mixin).

    The class using it sets ``self.entries`` (``{name: _Entry}``) and the three
    ``nn.ModuleDict``\\ s ``connectors``, ``teacher_connectors`` and
    ``distill_losses`` before calling :meth:`_build_entry`.
    """

    entries: Dict[str, _Entry]
    connectors: nn.ModuleDict
    teacher_connectors: nn.ModuleDict
    distill_losses: nn.ModuleDict
    # added to build errors when channels could not be read from a probe
    _no_probe_hint = ' (set probe_shape so channels can be read from a probe batch)'
    # how the probe is described in shape-mismatch errors
    _probe_name = 'probe batch'

    # ------------------------------------------------------------- recorders
    def _make_recorders(self, side: str, model: nn.Module,
                        specs: Optional[Dict[str, Any]] = None) -> RecorderManager:
        """One recorder per entry on ``model`` (``specs`` defaults to the entries' own)."""
        recorders = {}
        if specs is None:
            specs = {name: (entry.student_spec if side == 'student' else entry.teacher_spec)
                     for name, entry in self.entries.items()}
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

    @staticmethod
    def _get(manager: RecorderManager, name: str, side: str) -> Any:
        try:
            return manager.get(name)
        except (KeyError, IndexError, RuntimeError) as err:
            raise type(err)(f'distill entry "{name}", {side} record: '
                            f'{err.args[0] if err.args else err}') from err

    # ---------------------------------------------------------------- levels
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

    def _split(self, entry: _Entry, s_rec: Any, t_rec: Any) -> Tuple[list, list, bool]:
        """Both records as per-level lists, and whether they were tuples of levels."""
        s_rec, t_rec = self._select_levels(entry, s_rec), self._select_levels(entry, t_rec)
        if not entry.levelwise:
            return [s_rec], [t_rec], False
        s_levels, t_levels = _as_levels(s_rec), _as_levels(t_rec)
        if (s_levels is None) != (t_levels is None) or (
                s_levels is not None and len(s_levels) != len(t_levels)):
            raise ValueError(
                f'distill entry "{entry.name}": the student record has '
                f'{"1 tensor" if s_levels is None else f"{len(s_levels)} levels"} and the '
                f'teacher record has '
                f'{"1 tensor" if t_levels is None else f"{len(t_levels)} levels"} (shapes '
                f'{_shape(s_rec)} vs {_shape(t_rec)}). Pick matching levels with '
                '`levels=[...]`, or one item with dict(source=..., index=i).')
        if s_levels is None:
            return [s_rec], [t_rec], False
        return s_levels, t_levels, True

    # ----------------------------------------------------------------- build
    def _build_entry(self, entry: _Entry, s_rec: Any, t_rec: Any, probed: bool) -> None:
        """Build the connectors and losses of ``entry``.

        With ``probed`` the records of a probe forward fill unset channels, the
        connected shapes are compared and the loss is called once; without,
        the configs must be complete and a tuple record needs ``levels``.
        """
        name = entry.name
        if probed:
            s_items, t_items, is_tuple = self._split(entry, s_rec, t_rec)
            entry.num_levels = len(s_items) if is_tuple else None
        else:
            n = len(entry.levels) if entry.levels is not None else None
            entry.num_levels = n
            s_items = t_items = [None] * (n or 1)
        hint = '' if probed else self._no_probe_hint

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
                raise type(err)(f'distill entry "{name}", loss {entry.loss_cfg.get("type")!r}: '
                                f'{err.args[0] if err.args else err}{hint}') from err
        forward = losses[0].forward
        if _positional_capacity(forward) < 2:
            raise TypeError(
                f'distill entry "{name}": {type(losses[0]).__name__}.forward'
                f'{inspect.signature(forward)} cannot take (student, teacher) as its first two '
                'arguments; kd losses are called as loss(student, teacher[, data_samples=...]).')
        entry.pass_data_samples = _accepts(forward, 'data_samples')
        entry.loss_params = frozenset(inspect.signature(forward).parameters)
        self.distill_losses[name] = nn.ModuleList(losses)
        if probed:
            with torch.no_grad(), _eval_mode(self.connectors, self.teacher_connectors):
                self._check_shapes(entry, s_items, t_items)
                self._try_loss(entry, s_items, t_items)

    def _check_shapes(self, entry: _Entry, s_items: list, t_items: list) -> None:
        for i, (s, t) in enumerate(zip(s_items, t_items)):
            s2 = self._connect(self.connectors, entry.name, i, s, t)
            t2 = self._connect(self.teacher_connectors, entry.name, i, t, s)
            loss_fn = self.distill_losses[entry.name][0 if entry.share_loss else i]
            if getattr(loss_fn, 'shape_check', 'same') != 'same':
                continue  # relation losses compare within each side
            if isinstance(s2, torch.Tensor) and isinstance(t2, torch.Tensor) \
                    and s2.shape != t2.shape:
                raise ValueError(self._mismatch_message(entry, i, s, t2, s2))

    def _try_loss(self, entry: _Entry, s_items: list, t_items: list) -> None:
        """Call the loss once on the probe records, so unfit inputs fail at build time.

        Losses that need the batch's data samples (labels, boxes) are not
        called here; they check their inputs on the first step.
        """
        if entry.pass_data_samples:
            return
        with torch.random.fork_rng(devices=[]):   # random masks (MGD) must not shift seeds
            for i, (s, t) in enumerate(zip(s_items, t_items)):
                s2 = self._connect(self.connectors, entry.name, i, s, t)
                t2 = self._connect(self.teacher_connectors, entry.name, i, t, s)
                loss_fn = self.distill_losses[entry.name][0 if entry.share_loss else i]
                try:
                    loss_fn(s2, t2)
                except (ValueError, RuntimeError, TypeError, IndexError) as err:
                    raise type(err)(
                        f'distill entry "{entry.name}" (level {i}): '
                        f'{type(loss_fn).__name__} cannot take the recorded inputs (student '
                        f'{_shape(s2)}, teacher {_shape(t2)}): {err}. Record other modules, '
                        'add a connector, or pick a loss made for these inputs.') from err

    def _mismatch_message(self, entry: _Entry, level: int, s: torch.Tensor, t: torch.Tensor,
                          s_after: torch.Tensor) -> str:
        where = f' level {level}' if entry.num_levels is not None else ''
        has = entry.name in self.connectors
        msg = (f'distill entry "{entry.name}"{where}: student feature {tuple(s.shape)}'
               f'{f" (after connector {tuple(s_after.shape)})" if has else ""} does not match '
               f'teacher feature {tuple(t.shape)} ({self._probe_name}).')
        if s.dim() == 4 and t.dim() == 4:
            fix = []
            if s_after.shape[1] != t.shape[1]:
                fix.append(f"connector=dict(type='ConvConnector', in_channels={s.shape[1]}, "
                           f'out_channels={t.shape[1]})')
            if s_after.shape[2:] != t.shape[2:]:
                fix.append("a ResizeConnector (connector=[...] per level, or "
                           "teacher_connector=dict(type='ResizeConnector'))")
            msg += ' Fix: add ' + ' and '.join(fix) + ' to the entry.'
        elif s.dim() == 2 and t.dim() == 2:
            msg += (f" Fix: add connector=dict(type='LinearConnector', in_features="
                    f'{s.shape[1]}, out_features={t.shape[1]}) to the entry.')
        return msg

    @staticmethod
    def _connect(modules: nn.ModuleDict, name: str, level: int, x: Any, ref: Any) -> Any:
        if name not in modules:
            return x
        return modules[name][level](x, ref)

    # ------------------------------------------------------------------ step
    def _entry_loss(self, name: str, s_rec: Any, t_rec: Any, **kwargs: Any) -> torch.Tensor:
        """The loss of entry ``name`` on two records, summed over its levels.

        ``kwargs`` go to every level's loss call (``data_samples``, ...).
        """
        entry = self.entries[name]
        s_items, t_items, is_tuple = self._split(entry, s_rec, t_rec)
        expected = entry.num_levels if entry.num_levels is not None else 1
        if len(s_items) != expected or (is_tuple and entry.num_levels is None):
            raise ValueError(
                f'distill entry "{name}": built for {expected} level(s), got student '
                f'{_shape(s_rec)} and teacher {_shape(t_rec)}. A tuple record needs '
                '`levels=[...]` (or a probe at build time) to know its levels.')
        losses = self.distill_losses[name]
        total: Any = 0.
        for i, (s, t) in enumerate(zip(s_items, t_items)):
            s = self._connect(self.connectors, name, i, s, t)
            t = self._connect(self.teacher_connectors, name, i, t, s)
            total = total + losses[0 if entry.share_loss else i](s, t, **kwargs)
        return total
