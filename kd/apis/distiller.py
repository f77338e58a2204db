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
from collections import OrderedDict
from typing import Any, Iterator, Sequence

import torch
import torch.nn as nn

# The config-driven distillers' entries, so both accept, build and compute exactly
# the same entries (one DistillEntry module per distilled pair).
from kd.distillers.entry import build_entries, upgrade_old_entry_keys
from kd.distillers.records import eval_mode, get_record, make_recorders, probe_errors

__all__ = ['Distiller']


def _as_call(inputs: Any) -> tuple[tuple, dict]:
    """``example_inputs`` as ``(args, kwargs)``: a tensor, a tuple of args, or a dict."""
    if isinstance(inputs, dict):
        return (), dict(inputs)
    if isinstance(inputs, (tuple, list)):
        return tuple(inputs), {}
    return (inputs, ), {}


class Distiller(nn.Module):
    """Distillation losses between two plain ``nn.Module``\\ s for a hand-written loop.

    The student and the teacher are *not* sub-modules: ``parameters()``,
    ``state_dict()``, ``to()`` and ``train()`` cover only the entries
    (``entries.<name>``: :class:`~kd.distillers.entry.DistillEntry`, its connectors and
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

    def __init__(self, student: nn.Module, teacher: nn.Module, distill: dict[str, dict],
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
        self.entries = build_entries(distill)
        self._progress: tuple | None = None
        self._teacher_ran = False
        self.student_recorders = make_recorders(
            'student', student, {n: e.student_spec for n, e in self.entries.items()})
        try:
            self.teacher_recorders = make_recorders(
                'teacher', teacher, {n: e.teacher_spec for n, e in self.entries.items()})
        except BaseException:
            self.student_recorders.remove()
            raise
        try:
            probe = self._probe(example_inputs) if example_inputs is not None else {}
            for name, entry in self.entries.items():
                entry.build(*probe.get(name, (None, None)), probed=example_inputs is not None,
                            no_probe_hint=' (give example_inputs to infer channels)',
                            probe_name='example_inputs', teacher_models={'teacher': teacher})
        except BaseException:
            self.remove()
            raise
        self._register_load_state_dict_pre_hook(upgrade_old_entry_keys)

    # ------------------------------------------------------------------ build
    @torch.no_grad()
    def _probe(self, example_inputs: Any) -> dict[str, tuple]:
        args, kwargs = _as_call(example_inputs)
        try:
            with eval_mode(self.student), probe_errors(
                    'with example_inputs',
                    'the probe forward of example_inputs through student and teacher'):
                with self.teacher_recorders:
                    self.teacher(*args, **kwargs)
                with self.student_recorders:
                    self.student(*args, **kwargs)
                return {name: self._records(name) for name in self.entries}
        finally:
            self.reset()

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
    def record(self, *teacher_args: Any, **teacher_kwargs: Any) -> Iterator[Distiller]:
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

    def set_progress(self, iteration: int, epoch: int = 0, max_iters: int | None = None,
                     max_epochs: int | None = None) -> None:
        """Where training is, for entries with a ``schedule`` (call it every step)."""
        self._progress = (iteration, epoch, max_iters, max_epochs)

    def factors(self) -> dict[str, float]:
        """The current weight factor of every entry (1 without a schedule)."""
        factors = {}
        for name, entry in self.entries.items():
            if entry.schedule is not None and self._progress is None:
                raise RuntimeError(f'distill entry "{name}" has a schedule: call '
                                   'distiller.set_progress(iteration, epoch, max_iters, '
                                   'max_epochs) before losses()')
            factors[name] = entry.update_factor(self._progress) \
                if entry.schedule is not None else 1.0
        return factors

    def losses(self, data_samples: Sequence[Any] | None = None,
               **loss_kwargs: Any) -> dict[str, torch.Tensor]:
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
        unused = set(loss_kwargs).difference(*(e.loss_params for e in self.entries.values()))
        if unused:
            raise TypeError(f'no distill loss takes the keyword(s) {sorted(unused)}')
        out: dict[str, torch.Tensor] = OrderedDict()
        try:
            for name, factor in self.factors().items():
                if factor == 0:
                    continue
                out[f'distill.{name}'] = self._entry_loss_from_records(name, data_samples,
                                                                    loss_kwargs) * factor
        finally:
            self.reset()
        return out

    def _entry_loss_from_records(self, name: str, data_samples: Any,
                                 loss_kwargs: dict) -> torch.Tensor:
        entry = self.entries[name]
        kwargs = {k: v for k, v in loss_kwargs.items() if k in entry.loss_params}
        if entry.pass_data_samples and data_samples is not None:
            kwargs['data_samples'] = data_samples
        return entry(*self._records(name), **kwargs)

    def _records(self, name: str) -> tuple[Any, Any]:
        return (get_record(self.student_recorders, name, 'student'),
                get_record(self.teacher_recorders, name, 'teacher'))

    def pairs(self, names: Sequence[str] | None = None) -> dict[str, list[tuple[Any, Any]]]:
        """Per entry and level, the (connected student, teacher) values its loss compares.

        Read from the records of the last ``record()`` block (call it before
        :meth:`losses`, which drops them).
        """
        names = list(self.entries) if names is None else list(names)
        return {n: self.entries[n].pairs(*self._records(n)) for n in names}

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

    def entry_names(self) -> list[str]:
        """The names of the distill entries, in order."""
        return list(self.entries)
