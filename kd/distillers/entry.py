"""One ``distill`` entry as one module: records, levels, connectors, losses, schedule.

Every distiller (and the config-free :class:`kd.apis.Distiller`) keeps its
entries in one ``nn.ModuleDict`` named ``entries``; the state of entry ``fpn``
is ``entries.fpn.connectors.<level>.*``, ``entries.fpn.teacher_connectors.*``
and ``entries.fpn.losses.<i>.*``. Checkpoints written before this layout
(``connectors.fpn.*``, ``teacher_connectors.fpn.*``, ``distill_losses.fpn.*``)
are renamed on load by :func:`upgrade_old_entry_keys`.
"""
from __future__ import annotations

import copy
import inspect
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from kd.engine.schedules import progress_factor, validate_schedule
from kd.recorders.base import resolve_module
from kd.registry import build_kd_module

from .channels import fill_channels, positional_capacity
from .records import as_levels, eval_mode, shape_of

ENTRY_KEYS = frozenset({'student', 'teacher', 'loss', 'connector', 'teacher_connector',
                        'levels', 'share_loss', 'levelwise', 'schedule', 'teacher_module'})
# a loss or connector with this method is handed the entry's ``teacher_module``
BIND_TEACHER_MODULE = 'bind_teacher_module'
# old state-dict containers -> the attribute of DistillEntry that holds them now
OLD_ENTRY_CONTAINERS = {'connectors': 'connectors', 'teacher_connectors': 'teacher_connectors',
                        'distill_losses': 'losses'}
def upgrade_old_entry_keys(state_dict: dict, prefix: str, *_: Any) -> None:
    """Rename, in place, entry keys of the old layout to the ``entries.<name>.*`` layout.

    ``connectors.<name>.<rest>`` -> ``entries.<name>.connectors.<rest>``;
    ``teacher_connectors.<name>.`` and ``distill_losses.<name>.`` (-> ``losses``)
    likewise. A load_state_dict pre-hook of the modules that hold ``entries``.
    """
    for key in [k for k in state_dict if k.startswith(prefix)]:
        container, _, rest = key[len(prefix):].partition('.')
        if container in OLD_ENTRY_CONTAINERS and '.' in rest:
            name, _, tail = rest.partition('.')
            new = f'{prefix}entries.{name}.{OLD_ENTRY_CONTAINERS[container]}.{tail}'
            state_dict[new] = state_dict.pop(key)


def resolve_teacher_module(models: Mapping[str, nn.Module], name: str,
                           entry: str) -> nn.Module:
    """The sub-module ``name`` of the teacher (``'<teacher>.<module>'`` with several)."""
    if not models:
        raise KeyError(f'distill entry "{entry}": teacher_module={name!r} but this teacher side '
                       'has no teacher model to take it from')
    if len(models) == 1:
        model = next(iter(models.values()))
    else:
        first, _, name = name.partition('.')
        if first not in models:
            raise KeyError(f'distill entry "{entry}": with several teachers teacher_module '
                           f'is "<teacher>.<module>"; "{first}" is not one of {sorted(models)}')
        model = models[first]
    try:
        return resolve_module(model, name, 'module')
    except KeyError as err:
        raise KeyError(f'distill entry "{entry}", teacher_module: {err.args[0]}') from err


def build_entries(distill: dict) -> nn.ModuleDict:
    """``{name: DistillEntry}`` for the ``distill`` configs (modules built later)."""
    return nn.ModuleDict({name: DistillEntry(name, dict(cfg)) for name, cfg in distill.items()})


class DistillEntry(nn.Module):
    """One distilled pair: its record specs, levels, connectors, losses and schedule.

    Args:
        name: the entry name (``distill.<name>`` in the logs).
        cfg: ``dict(student=SPEC, teacher=SPEC, loss=CFG, connector=CFG|[CFG per
            level], teacher_connector=CFG, levels=[i, ...], share_loss=False,
            levelwise=True, schedule=CFG, teacher_module=NAME)``.

    ``teacher_module``: a sub-module of the teacher (``'bbox_head'``;
    ``'t1.bbox_head'`` with several teachers) handed at build time to every loss
    and connector of the entry that defines ``bind_teacher_module(module)``
    (CrossKD runs the teacher's head layers on student features). The module
    stays the frozen, hidden teacher's: the taker keeps it out of its own
    module tree, so it never enters ``state_dict`` or the optimizer.

    The connectors and losses exist after :meth:`build`. ``factor`` is the
    schedule's current weight (1 without a schedule; 0 switches the entry off).
    """

    def __init__(self, name: str, cfg: dict) -> None:
        super().__init__()
        unknown = set(cfg) - ENTRY_KEYS
        if unknown:
            raise KeyError(f'distill entry "{name}" has unknown keys {sorted(unknown)}; '
                           f'allowed keys: {sorted(ENTRY_KEYS)}')
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
        self.levels: list[int] | None = cfg.get('levels')
        self.share_loss = bool(cfg.get('share_loss', False))
        # levelwise=False hands whole tuple records to one loss (IRG across layers)
        self.levelwise = bool(cfg.get('levelwise', True))
        self.schedule = validate_schedule(cfg['schedule'], f'distill entry "{name}" schedule') \
            if cfg.get('schedule') is not None else None
        self.teacher_module_name: str | None = cfg.get('teacher_module')
        if self.teacher_module_name is not None and \
                not isinstance(self.teacher_module_name, str):
            raise TypeError(f'distill entry "{name}": teacher_module must be a module name '
                            f"of the teacher (e.g. 'bbox_head'), got "
                            f'{self.teacher_module_name!r}')
        self.factor = 1.0
        self.num_levels: int | None = None     # None: a single tensor record
        self.pass_data_samples = False
        self.loss_params: frozenset = frozenset()   # the loss forward's argument names
        self.connectors: nn.ModuleList | None = None
        self.teacher_connectors: nn.ModuleList | None = None
        self.losses = nn.ModuleList()

    def extra_repr(self) -> str:
        return f'name={self.name!r}, levels={self.num_levels}'

    # ------------------------------------------------------------ schedule
    @property
    def active(self) -> bool:
        """Whether the entry contributes (its factor is not zero)."""
        return self.factor != 0

    def update_factor(self, progress: tuple) -> float:
        """Set ``factor`` from ``(iteration, epoch, max_iters, max_epochs)``."""
        if self.schedule is not None:
            self.factor = progress_factor(self.schedule, *progress)
        return self.factor

    # -------------------------------------------------------------- levels
    def select_levels(self, record: Any) -> Any:
        """``record`` cut to the entry's ``levels`` (a tuple record only)."""
        levels = as_levels(record) if self.levelwise else None
        if levels is None or self.levels is None:
            return record
        try:
            return [levels[i] for i in self.levels]
        except IndexError as err:
            raise IndexError(f'distill entry "{self.name}": levels={self.levels} but the '
                             f'record has {len(levels)} levels') from err

    def split(self, s_rec: Any, t_rec: Any) -> tuple[list, list, bool]:
        """Both records as per-level lists, and whether they were tuples of levels."""
        s_rec, t_rec = self.select_levels(s_rec), self.select_levels(t_rec)
        if not self.levelwise:
            return [s_rec], [t_rec], False
        s_levels, t_levels = as_levels(s_rec), as_levels(t_rec)
        if (s_levels is None) != (t_levels is None) or (
                s_levels is not None and len(s_levels) != len(t_levels)):
            def count(levels):
                return '1 tensor' if levels is None else f'{len(levels)} levels'
            raise ValueError(
                f'distill entry "{self.name}": the student record has {count(s_levels)} and '
                f'the teacher record has {count(t_levels)} (shapes {shape_of(s_rec)} vs '
                f'{shape_of(t_rec)}). Pick matching levels with `levels=[...]`, or one item '
                'with dict(source=..., index=i).')
        if s_levels is None:
            return [s_rec], [t_rec], False
        return s_levels, t_levels, True

    # --------------------------------------------------------------- pairs
    def loss_at(self, level: int) -> nn.Module:
        """The loss module of ``level`` (the one shared loss with ``share_loss``)."""
        return self.losses[0 if self.share_loss else level]

    def connect(self, level: int, student: Any, teacher: Any) -> tuple[Any, Any]:
        """``(connector(student), teacher_connector(teacher))`` of one level."""
        if self.connectors is not None:
            student = self.connectors[level](student, teacher)
        if self.teacher_connectors is not None:
            teacher = self.teacher_connectors[level](teacher, student)
        return student, teacher

    def pairs(self, s_rec: Any, t_rec: Any) -> list[tuple[Any, Any]]:
        """Per level, the (connected student, teacher) values the loss compares."""
        s_items, t_items, is_tuple = self.split(s_rec, t_rec)
        expected = self.num_levels if self.num_levels is not None else 1
        if len(s_items) != expected or (is_tuple and self.num_levels is None):
            raise ValueError(
                f'distill entry "{self.name}": built for {expected} level(s), got student '
                f'{shape_of(s_rec)} and teacher {shape_of(t_rec)}. A tuple record needs '
                '`levels=[...]` (or a probe at build time) to know its levels.')
        return [self.connect(i, s, t) for i, (s, t) in enumerate(zip(s_items, t_items))]

    def forward(self, s_rec: Any, t_rec: Any, **kwargs: Any) -> torch.Tensor:
        """The entry's loss on two records, summed over levels (unscaled by ``factor``).

        ``kwargs`` go to every level's loss call (``data_samples``, ...).
        """
        total: Any = 0.
        for i, (s, t) in enumerate(self.pairs(s_rec, t_rec)):
            total = total + self.loss_at(i)(s, t, **kwargs)
        return total

    # --------------------------------------------------------------- build
    def build(self, s_rec: Any = None, t_rec: Any = None, probed: bool = False,
              no_probe_hint: str = '', probe_name: str = 'probe batch',
              teacher_models: Mapping[str, nn.Module] | None = None) -> None:
        """Build the connectors and losses.

        With ``probed`` the records of a probe forward fill unset channels, the
        connected shapes are compared and the loss is called once; without,
        the configs must be complete and a tuple record needs ``levels``.
        ``teacher_models`` (``{name: model}`` of the teacher side) resolve the
        entry's ``teacher_module``.
        """
        if probed:
            s_items, t_items, is_tuple = self.split(s_rec, t_rec)
            self.num_levels = len(s_items) if is_tuple else None
        else:
            self.num_levels = len(self.levels) if self.levels is not None else None
            s_items = t_items = [None] * (self.num_levels or 1)
        hint = '' if probed else no_probe_hint
        self.connectors = self._build_list(self.connector_cfg, s_items, t_items, 'connector',
                                           probed, hint)
        self.teacher_connectors = self._build_list(self.teacher_connector_cfg, t_items, t_items,
                                                   'teacher_connector', probed, hint)
        for i in range(1 if self.share_loss else len(s_items)):
            cfg = copy.deepcopy(dict(self.loss_cfg))
            if probed:  # losses with their own layers (VID, CRD, MGD) get channels too
                with torch.no_grad(), eval_mode(self):
                    s_ref = self.connectors[i](s_items[i], t_items[i]) \
                        if self.connectors is not None else s_items[i]
                cfg = fill_channels(cfg, s_ref, t_items[i])
            try:
                self.losses.append(build_kd_module(cfg))
            except (TypeError, KeyError, ValueError) as err:
                raise type(err)(f'distill entry "{self.name}", loss '
                                f'{self.loss_cfg.get("type")!r}: '
                                f'{err.args[0] if err.args else err}{hint}') from err
        self._bind_teacher_module(teacher_models)
        forward = self.losses[0].forward
        if positional_capacity(forward) < 2:
            raise TypeError(
                f'distill entry "{self.name}": {type(self.losses[0]).__name__}.forward'
                f'{inspect.signature(forward)} cannot take (student, teacher) as its first two '
                'arguments; kd losses are called as loss(student, teacher[, data_samples=...]).')
        self.loss_params = frozenset(inspect.signature(forward).parameters)
        self.pass_data_samples = 'data_samples' in self.loss_params
        if probed:
            with torch.no_grad(), eval_mode(self):
                self._check(s_items, t_items, probe_name)

    def _bind_teacher_module(self, teacher_models: Mapping[str, nn.Module] | None) -> None:
        """Hand ``teacher_module`` to the losses/connectors that take one (see the class)."""
        takers = [m for group in (self.connectors, self.teacher_connectors, self.losses)
                  for m in (group or []) if callable(getattr(m, BIND_TEACHER_MODULE, None))]
        name = self.teacher_module_name
        if name is None:
            if takers:
                raise KeyError(f'distill entry "{self.name}": {type(takers[0]).__name__} runs '
                               'layers of the teacher; name them with teacher_module=... in '
                               "the entry (e.g. teacher_module='bbox_head')")
            return
        if not takers:
            raise KeyError(f'distill entry "{self.name}": teacher_module={name!r} is given but '
                           'no loss or connector of the entry takes a teacher module '
                           f'(none defines {BIND_TEACHER_MODULE}); remove the key')
        module = resolve_teacher_module(teacher_models or {}, name, self.name)
        for taker in takers:
            getattr(taker, BIND_TEACHER_MODULE)(module)

    def _build_list(self, cfg: Any, srcs: list, refs: list, key: str, probed: bool,
                    hint: str) -> nn.ModuleList | None:
        if cfg is None:
            return None
        cfgs = list(cfg) if isinstance(cfg, (list, tuple)) else [cfg] * len(srcs)
        if len(cfgs) != len(srcs):
            raise ValueError(f'distill entry "{self.name}": {key} has {len(cfgs)} configs for '
                             f'{len(srcs)} levels')
        modules = []
        for i, (c, s, t) in enumerate(zip(cfgs, srcs, refs)):
            c = fill_channels(dict(c), s, t) if probed else dict(c)
            try:
                modules.append(build_kd_module(c))
            except (TypeError, KeyError, ValueError) as err:
                raise type(err)(f'distill entry "{self.name}", {key} (level {i}): '
                                f'{err.args[0] if err.args else err}{hint}') from err
        return nn.ModuleList(modules)

    def _check(self, s_items: Sequence, t_items: Sequence, probe_name: str) -> None:
        """Compare connected shapes, then call the loss once on the probe records.

        Losses that need the batch's data samples (labels, boxes) are not called
        here; they check their inputs on the first step.
        """
        with torch.random.fork_rng(devices=[]):   # random masks (MGD) must not shift seeds
            for i, (s, t) in enumerate(zip(s_items, t_items)):
                s2, t2 = self.connect(i, s, t)
                loss_fn = self.loss_at(i)
                if getattr(loss_fn, 'shape_check', 'same') == 'same' and isinstance(
                        s2, torch.Tensor) and isinstance(t2, torch.Tensor) and \
                        s2.shape != t2.shape:
                    raise ValueError(self._mismatch_message(i, s, t2, s2, probe_name))
                if self.pass_data_samples:
                    continue
                try:
                    loss_fn(s2, t2)
                except (ValueError, RuntimeError, TypeError, IndexError) as err:
                    raise type(err)(
                        f'distill entry "{self.name}" (level {i}): '
                        f'{type(loss_fn).__name__} cannot take the recorded inputs (student '
                        f'{shape_of(s2)}, teacher {shape_of(t2)}): {err}. Record other '
                        'modules, add a connector, or pick a loss made for these inputs.'
                    ) from err

    def _mismatch_message(self, level: int, s: torch.Tensor, t: torch.Tensor,
                          s_after: torch.Tensor, probe_name: str) -> str:
        where = f' level {level}' if self.num_levels is not None else ''
        has = self.connectors is not None
        msg = (f'distill entry "{self.name}"{where}: student feature {tuple(s.shape)}'
               f'{f" (after connector {tuple(s_after.shape)})" if has else ""} does not match '
               f'teacher feature {tuple(t.shape)} ({probe_name}).')
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
