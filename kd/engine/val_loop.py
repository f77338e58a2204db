"""A validation loop that also evaluates the teacher, once."""
from __future__ import annotations

import copy

import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import ValLoop
from torch.utils.data import DataLoader

from kd.registry import LOOPS


@LOOPS.register_module()
class DistillValLoop(ValLoop):
    """Evaluate the student every time and the teacher at the first validation.

    The teacher's metrics are reported as ``teacher/<metric>`` (e.g.
    ``teacher/coco/bbox_mAP``) after the student's, so best-checkpoint
    selection (``save_best='auto'`` takes the first metric) keeps following the
    student. The teacher is frozen, so later validations repeat its first
    result instead of re-running it.

    Use ``val_cfg = dict(type='kd.DistillValLoop')`` (kd's schedule bases do, for every
    run); for a model without a teacher it is MMEngine's ``ValLoop``.

    Args:
        evaluate_teacher: run the teacher at all.
    """

    def __init__(self, runner, dataloader: DataLoader | dict,
                 evaluator: Evaluator | dict | list, fp16: bool = False,
                 evaluate_teacher: bool = True) -> None:
        evaluator_cfg = copy.deepcopy(evaluator) if isinstance(evaluator, (dict, list)) else None
        super().__init__(runner, dataloader, evaluator, fp16)
        self.evaluate_teacher = evaluate_teacher
        self._teacher_metrics: dict[str, float] = {}
        self._teacher_evaluator = None
        if evaluate_teacher:
            if evaluator_cfg is None:
                raise TypeError('DistillValLoop needs the evaluator as a config to build a '
                                'second one for the teacher')
            self._teacher_evaluator = runner.build_evaluator(evaluator_cfg)
            self._teacher_evaluator.dataset_meta = self.evaluator.dataset_meta

    def _teachers(self) -> dict[str, torch.nn.Module]:
        """``{prefix: teacher}``: ``teacher/`` for one, ``teacher/<name>/`` for several."""
        model = self.runner.model
        model = model.module if is_model_wrapper(model) else model
        teachers = getattr(model, 'teachers', None)
        if isinstance(teachers, dict):
            return {f'teacher/{name}/': t for name, t in teachers.items()}
        teacher = getattr(model, 'teacher', None)
        return {'teacher/': teacher} if teacher is not None else {}

    @torch.no_grad()
    def _run_teacher(self) -> dict[str, float]:
        teachers = self._teachers()
        if not teachers:
            print_log('DistillValLoop: the model has no teacher; only the student is '
                      'evaluated', logger='current')
            return {}
        results: dict[str, float] = {}
        for prefix, teacher in teachers.items():
            for data_batch in self.dataloader:
                outputs = teacher.val_step(data_batch)
                self._teacher_evaluator.process(data_samples=outputs, data_batch=data_batch)
            metrics = self._teacher_evaluator.evaluate(len(self.dataloader.dataset))
            results.update({f'{prefix}{k}': v for k, v in metrics.items()})
        return results

    def run(self) -> dict:
        if self.evaluate_teacher and not self._teacher_metrics and self._teachers():
            self._teacher_metrics = self._run_teacher()
            text = '  '.join(f'{k}: {v:.4f}' for k, v in self._teacher_metrics.items()
                             if isinstance(v, float))
            print_log(f'DistillValLoop: teacher evaluated once: {text}', logger='current')
        # in the message hub before the student's hooks run, so the logger writes
        # them beside the student's metrics; not in the metrics the hooks see,
        # so best-checkpoint selection follows the student alone
        for key, value in self._teacher_metrics.items():
            if isinstance(value, (int, float)):
                self.runner.message_hub.update_scalar(f'val/{key}', value)
        metrics = super().run()
        return dict(metrics, **self._teacher_metrics)
