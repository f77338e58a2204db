"""BaseDistiller: a student, a teacher side and one DistillEntry per distilled pair."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, ClassVar, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from kd.engine.schedules import progress_factor, validate_schedule

from .builder import build_model, load_model_file, model_cfg_and_scope
from .entry import build_entries, upgrade_old_entry_keys
from .forward import choose_forward_mode, probe_data_samples, run_forward
from .loss_dict import NonFinitePolicy, parse_losses, scale
from .records import eval_mode, get_record, make_recorders, probe_errors
from .teachers import Teacher
from .unlabeled import check_pseudo_labels, pseudo_label, unlabeled_flags

Pairs = dict[str, list[tuple[Any, Any]]]


class BaseDistiller(BaseModel):
    """Orchestrates one step: record, connect, loss, schedule.

    Subclasses say only where the teacher records come from, by returning a
    :class:`~kd.distillers.teachers.Teacher` from :meth:`build_teacher`.

    Args:
        student: the student model config, ``dict(config=PATH)``, or
            ``dict(model_file=PATH, allow_unsafe_unpickle=True)``.
        distill: ``{entry_name: dict(student=SPEC, teacher=SPEC, loss=CFG, ...)}``
            (:class:`~kd.distillers.entry.DistillEntry`).
        calculate_student_loss: add the student's own task losses.
        student_loss_schedule: a loss-weight schedule for the task losses.
        nan_policy: ``'raise'`` or ``'skip'`` (:class:`~kd.distillers.loss_dict.NonFinitePolicy`).
        pseudo_labels: ``dict(score_thr=0.5, loss_weight=1.0)`` for unlabeled images.
        probe_shape: ``(C, H, W)`` of the dummy batch run once at build time to
            check records and shapes and infer channels (``None`` skips it).
        data_preprocessor: defaults to the student's.
        recipe_dir: directory of the recipe file, for relative paths.
    """

    #: ``kd.apis.load_config`` passes the recipe's directory as ``recipe_dir``
    uses_recipe_dir: ClassVar[bool] = True

    def __init__(self, student: dict, distill: dict | None = None,
                 calculate_student_loss: bool = True,
                 student_loss_schedule: dict | None = None, nan_policy: str = 'raise',
                 pseudo_labels: dict | None = None,
                 probe_shape: Sequence[int] | None = (3, 128, 128),
                 data_preprocessor: dict | nn.Module | None = None,
                 recipe_dir: str | None = None, init_cfg: dict | None = None) -> None:
        distill = dict(distill or {})
        if not calculate_student_loss and not distill:
            raise ValueError('calculate_student_loss=False with no distill entry leaves '
                             'nothing to train; add an entry to `distill` or set '
                             'calculate_student_loss=True.')
        if isinstance(student, dict) and 'model_file' in student:
            student_model, s_scope = load_model_file(dict(student), recipe_dir), None
        else:
            s_cfg, s_scope, _ = model_cfg_and_scope(student, recipe_dir, 'student')
            student_model = build_model(s_cfg, s_scope)
        if data_preprocessor is None:
            data_preprocessor = getattr(student_model, 'data_preprocessor', None)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = student_model
        self.student_scope = s_scope
        self.calculate_student_loss = calculate_student_loss
        self.nan = NonFinitePolicy(nan_policy)
        self.pseudo_labels = check_pseudo_labels(pseudo_labels)
        self.student_loss_schedule = validate_schedule(
            student_loss_schedule, 'student_loss_schedule') if student_loss_schedule else None
        self.student_loss_factor = 1.0
        self.distill_stopped = False   # set by kd.StopDistillHook
        self._manual_progress: tuple | None = None

        self.teacher_side: Teacher = self.build_teacher(recipe_dir)
        self.teacher_side.attach(self)
        self.entries = build_entries(distill)
        self.student_recorders = make_recorders(
            'student', self.student, {n: e.student_spec for n, e in self.entries.items()})
        self.teacher_side.prepare({n: e.teacher_spec for n, e in self.entries.items()})
        # records of the teacher side taken in the student's forward need all of it
        self.student_forward_mode = 'tensor' if self.teacher_side.records_in_student_forward \
            else choose_forward_mode(self.student, self.student_recorders)
        if self.entries:
            probe = self._probe(probe_shape) if probe_shape is not None else {}
            for name, entry in self.entries.items():
                entry.build(*probe.get(name, (None, None)), probed=probe_shape is not None,
                            no_probe_hint=' (set probe_shape so channels can be read from '
                            'a probe batch)', teacher_models=self.teacher_side.models())
        self.teacher_side.entries_built(dict(self.entries))
        self._register_load_state_dict_pre_hook(upgrade_old_entry_keys)

    def build_teacher(self, recipe_dir: str | None) -> Teacher:
        """The teacher side of this distiller (called once the student exists)."""
        raise NotImplementedError

    @property
    def nonfinite_steps(self) -> int:
        """Steps with a NaN/Inf loss so far (``nan_policy='skip'``)."""
        return self.nan.steps

    # ----------------------------------------------------------------- records
    def student_record(self, name: str) -> Any:
        return get_record(self.student_recorders, name, 'student')

    def _record(self, inputs: torch.Tensor, data_samples: Any, names: Sequence[str]) -> None:
        """Teacher side (as at build time: float32, no cache) and student, recorders on."""
        self.teacher_side.run(inputs, data_samples, list(names), probe=True)
        with self.teacher_side.recording_student(), self.student_recorders:
            run_forward(self.student, self.student_forward_mode, inputs, data_samples,
                        'student')

    def _reset_records(self) -> None:
        self.student_recorders.reset()
        self.teacher_side.reset()

    @torch.no_grad()
    def _probe(self, shape: Sequence[int]) -> dict[str, tuple]:
        """Run both sides once on a dummy batch; return each entry's raw records."""
        shape = tuple(int(s) for s in shape)
        inputs = torch.randn((2, ) + shape, generator=torch.Generator().manual_seed(0))
        try:
            with eval_mode(self.student), probe_errors(
                    'at build time',
                    f'the build-time probe (a forward of a {(2, ) + shape} dummy batch through '
                    'student and teacher)',
                    '. If the models need another input size set `probe_shape=(C, H, W)` in '
                    'the distiller config (probe_shape=None skips the probe; connectors then '
                    'need explicit channels).'):
                models = [self.student, *self.teacher_side.models().values()]
                self._record(inputs, probe_data_samples(models, inputs), list(self.entries))
                return {n: (self.student_record(n), self.teacher_side.record(n))
                        for n in self.entries}
        finally:
            self._reset_records()

    # ------------------------------------------------------------------- pairs
    def recorded_pairs(self, names: Sequence[str] | None = None) -> Pairs:
        """Per entry and level, (connected student, teacher) from the current records."""
        names = self._names(names)
        return {n: self.entries[n].pairs(self.student_record(n), self.teacher_side.record(n))
                for n in names}

    def compute_pairs(self, inputs: torch.Tensor, data_samples: list | None = None,
                      entries: Sequence[str] | None = None) -> Pairs:
        """Run both sides on a batch and return what each entry's loss compares.

        ``{entry: [(student after its connector, teacher after its connector), ...
        one per level]}``. The models run in their current mode (call ``eval()``
        and ``torch.no_grad()`` around it for a look that changes nothing); the
        teacher side runs as at build time (float32, no cache). Records are
        dropped afterwards.
        """
        names = self._names(entries)
        try:
            self._record(inputs, data_samples, names)
            return self.recorded_pairs(names)
        finally:
            self._reset_records()

    def _names(self, names: Sequence[str] | None) -> list[str]:
        names = list(self.entries) if names is None else list(names)
        unknown = [n for n in names if n not in self.entries]
        if unknown:
            raise KeyError(f'unknown distill entries {unknown}; the distiller has '
                           f'{list(self.entries)}')
        return names

    # ------------------------------------------------------------ module tree
    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        side = self.__dict__.get('teacher_side')
        for model in side.hidden_models() if side is not None else []:
            model._apply(fn, *args, **kwargs)   # a hidden teacher moves with the student
        return self

    def train(self, mode: bool = True) -> BaseDistiller:
        super().train(mode)
        side = self.__dict__.get('teacher_side')
        if side is not None:
            side.train(mode)
        return self

    def forward(self, inputs: torch.Tensor, data_samples: list | None = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        # predict / tensor: the student alone, so evaluators work unchanged
        return self.student(inputs, data_samples, mode=mode)

    # --------------------------------------------------------------- schedule
    def active_entries(self) -> list[str]:
        """Entries whose weight factor is not zero (none once distillation stopped)."""
        return [] if self.distill_stopped else [n for n, e in self.entries.items() if e.active]

    def set_progress(self, iteration: int, epoch: int = 0, max_iters: int | None = None,
                     max_epochs: int | None = None) -> None:
        """Tell the schedules where training is (plain loops; a Runner's hub is read)."""
        self._manual_progress = (iteration, epoch, max_iters, max_epochs)

    def _progress(self) -> tuple | None:
        if self._manual_progress is not None:
            return self._manual_progress
        from mmengine.logging import MessageHub
        hub = MessageHub.get_current_instance()
        it = hub.get_info('iter')
        if it is None:
            return None
        return (it, hub.get_info('epoch') or 0, hub.get_info('max_iters'),
                hub.get_info('max_epochs'))

    def update_factors(self) -> dict[str, float]:
        """Recompute every scheduled factor from the training progress."""
        scheduled = [e for e in self.entries.values() if e.schedule]
        if not scheduled and self.student_loss_schedule is None:
            return {}
        progress = self._progress()
        if progress is None:
            return {}
        factors = {e.name: e.update_factor(progress) for e in scheduled}
        if self.student_loss_schedule is not None:
            self.student_loss_factor = factors['student'] = progress_factor(
                self.student_loss_schedule, *progress)
        return factors

    # -------------------------------------------------------------------- step
    def loss(self, inputs: torch.Tensor, data_samples: list | None = None) -> dict:
        """Student losses (``student.*``) and one ``distill.<entry>`` per active entry."""
        losses: dict[str, Any] = OrderedDict()
        factors = self.update_factors()
        active = self.active_entries()
        losses.update(self.teacher_side.run(inputs, data_samples, active))
        unlabeled = unlabeled_flags(data_samples)
        mixed = unlabeled is not None and any(unlabeled)
        try:
            with self.teacher_side.recording_student(), self.student_recorders:
                if self.calculate_student_loss and not mixed:
                    self._add_student_losses(
                        losses, self.student(inputs, data_samples, mode='loss'))
                elif active:
                    run_forward(self.student, self.student_forward_mode, inputs,
                                data_samples, 'student')
            if self.calculate_student_loss and mixed:
                # no task loss on unlabeled images; records were taken on the whole batch
                self._partial_student_losses(inputs, data_samples, unlabeled, losses)
            for name in active:
                losses[f'distill.{name}'] = \
                    self.distill_loss(name, data_samples) * self.entries[name].factor
        finally:
            self._reset_records()
        for name, value in factors.items():  # logged, not optimised
            losses[f'factor.{name}'] = torch.tensor(0.0 if self.distill_stopped and
                                                    name != 'student' else value)
        return losses

    def distill_loss(self, name: str, data_samples: list | None = None) -> torch.Tensor:
        """The loss of one entry from the current records, summed over levels."""
        entry = self.entries[name]
        kwargs = {'data_samples': data_samples} if entry.pass_data_samples else {}
        return entry(self.student_record(name), self.teacher_side.record(name), **kwargs)

    def _add_student_losses(self, losses: dict, student_losses: dict, prefix: str = 'student',
                            weight: float = 1.0) -> None:
        factor = self.student_loss_factor * weight
        for key, value in student_losses.items():
            losses[f'{prefix}.{key}'] = scale(value, factor) \
                if factor != 1.0 and 'loss' in key else value

    def _partial_student_losses(self, inputs: torch.Tensor, data_samples: list,
                                unlabeled: list[bool], losses: dict) -> None:
        """Task loss on the labeled images, and on pseudo-labeled ones when configured."""
        labeled = [i for i, u in enumerate(unlabeled) if not u]
        if labeled:
            self._add_student_losses(losses, self.student(
                inputs[labeled], [data_samples[i] for i in labeled], mode='loss'))
        if self.pseudo_labels is None:
            return
        idx = [i for i, u in enumerate(unlabeled) if u]
        pseudo = self.pseudo_label(inputs[idx], [data_samples[i] for i in idx])
        losses['student.pseudo_boxes_per_image'] = torch.tensor(
            [float(len(p.gt_instances)) for p in pseudo]).mean()
        self._add_student_losses(losses, self.student(inputs[idx], pseudo, mode='loss'),
                                 prefix='student.pseudo',
                                 weight=float(self.pseudo_labels.get('loss_weight', 1.0)))

    def pseudo_label(self, inputs: torch.Tensor, data_samples: list) -> list:
        """Copies of ``data_samples`` with the teacher's detections as ground truth."""
        return pseudo_label(self.teacher_side, inputs, data_samples,
                            float(self.pseudo_labels.get('score_thr', 0.5)))

    def parse_losses(self, losses: dict[str, Any]):
        """Sum ``student.*loss*``, ``teacher.*loss*`` and every ``distill.*`` into ``loss``."""
        return parse_losses(losses, self.nan)
