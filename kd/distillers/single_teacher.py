"""SingleTeacherDistiller: a student trained with one teacher's guidance."""
from __future__ import annotations

from typing import Sequence

import torch

from kd.registry import MODELS

from .base import BaseDistiller
from .teachers import FrozenTeacher, OnlineTeacher, Teacher


@MODELS.register_module()
class SingleTeacherDistiller(BaseDistiller):
    """Train a student with a teacher's records as extra targets.

    Args:
        student: the student model config (usually ``_base_.model``),
            ``dict(config=PATH)``, or ``dict(model_file=PATH,
            allow_unsafe_unpickle=True)`` for a whole saved module.
        teacher: ``dict(config=PATH, checkpoint=PATH_OR_URL)``; PATH may be
            ``mmdet::...``, ``kd::...``, absolute or relative to the recipe.
            ``allow_random_init=True`` permits a missing checkpoint (tests,
            benchmarks); ``forward='auto'|'backbone'|'extract_feat'|'tensor'|
            'loss'`` chooses how much of the teacher runs (``auto``: the least
            that produces every teacher record). ``autocast='bf16'|'fp16'`` runs
            the frozen teacher's forward under ``torch.autocast`` (fp16 needs a GPU)
            and hands float32 records to the losses; ``cache=PATH`` keeps each
            entry's (single-tensor) teacher record per data set sample and skips
            the teacher once a batch is stored (:mod:`kd.distillers.teacher_cache`);
            ``input_size=(H, W)`` feeds the teacher the batch resized to the size
            it was trained at; ``trainable=True`` trains it with the student
            (online distillation, ``teacher.*`` losses).
        distill: ``{entry_name: dict(student=SPEC, teacher=SPEC, loss=CFG,
            connector=CFG|[CFG per level], teacher_connector=CFG,
            levels=[i, ...], share_loss=False)}`` (:class:`~kd.distillers.entry.DistillEntry`).
        student_init_from_teacher: module names (``['neck', 'bbox_head']``) whose
            tensors are copied from the teacher into the student wherever name and
            shape match; what was copied and skipped is logged.
        **kwargs: the other :class:`~kd.distillers.base.BaseDistiller` arguments
            (``calculate_student_loss``, ``student_loss_schedule``, ``nan_policy``,
            ``pseudo_labels``, ``probe_shape``, ``data_preprocessor``, ``recipe_dir``).
    """

    def __init__(self, student: dict, teacher: dict, distill: dict | None = None,
                 student_init_from_teacher: Sequence[str] | None = None, **kwargs) -> None:
        self._teacher_cfg = teacher
        self._init_from_teacher = list(student_init_from_teacher or [])
        super().__init__(student=student, distill=distill, **kwargs)

    def build_teacher(self, recipe_dir: str | None) -> Teacher:
        cfg = dict(self._teacher_cfg) if isinstance(self._teacher_cfg, dict) \
            else self._teacher_cfg
        trainable = isinstance(cfg, dict) and bool(cfg.get('trainable', False))
        cache = None
        if isinstance(cfg, dict) and cfg.get('cache'):
            cache = dict(path=str(cfg['cache']), config=str(cfg['config']),
                         checkpoint=str(cfg.get('checkpoint')))
        kind = OnlineTeacher if trainable else FrozenTeacher
        side = kind.from_config(cfg, recipe_dir, self.data_preprocessor,
                                extra_keys=frozenset({'trainable', 'cache'}), cache=cache)
        self.teacher_meta = side.meta
        self.teacher_scope = side.scope
        # before the probe, so connectors see the copied tensors
        self.init_report = self.init_student_from_teacher(self._init_from_teacher,
                                                          side.model)
        return side

    @property
    def teacher_trainable(self) -> bool:
        return self.teacher_side.trainable

    def init_weights(self) -> None:
        """Initialise as configured, then re-apply ``student_init_from_teacher``.

        The Runner calls ``init_weights`` after building the model; without the
        second copy the student's own initialisation would overwrite the
        teacher's tensors.
        """
        super().init_weights()
        if self._init_from_teacher:
            self.init_report = self.init_student_from_teacher(self._init_from_teacher)

    def init_student_from_teacher(self, prefixes: Sequence[str],
                                  teacher: torch.nn.Module | None = None
                                  ) -> dict[str, list[str]]:
        """Copy teacher tensors under ``prefixes`` into the student where shapes match.

        Returns:
            ``{'copied': [...], 'skipped': ['name (why)', ...]}``.
        """
        report: dict[str, list[str]] = {'copied': [], 'skipped': []}
        if not prefixes:
            return report
        s_state = self.student.state_dict()
        t_state = (teacher if teacher is not None else self.teacher).state_dict()
        names = dict(self.student.named_modules())
        for prefix in prefixes:
            if prefix not in names:
                import difflib
                close = difflib.get_close_matches(prefix, list(names), n=3)
                raise KeyError(f'student_init_from_teacher: the student has no module '
                               f'"{prefix}"' + (f'; closest: {close}' if close else ''))
        with torch.no_grad():
            for key, value in s_state.items():
                if not any(key == p or key.startswith(p + '.') for p in prefixes):
                    continue
                src = t_state.get(key)
                if src is None:
                    report['skipped'].append(f'{key} (not in the teacher)')
                elif src.shape != value.shape:
                    report['skipped'].append(
                        f'{key} (teacher {tuple(src.shape)} vs student {tuple(value.shape)})')
                else:
                    value.copy_(src)
                    report['copied'].append(key)
        from mmengine.logging import print_log
        print_log(f'student_init_from_teacher: copied {len(report["copied"])} tensors'
                  f'{": " + ", ".join(report["copied"]) if report["copied"] else ""}; '
                  f'skipped {len(report["skipped"])}'
                  f'{": " + "; ".join(report["skipped"]) if report["skipped"] else ""}',
                  logger='current')
        return report
