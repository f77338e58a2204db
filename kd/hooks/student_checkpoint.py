"""Write an exported (plain) student checkpoint next to MMEngine's checkpoints."""
from __future__ import annotations

import os.path as osp

from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from kd.registry import HOOKS
from kd.utils.atomic import atomic_torch_save
from kd.utils.export import student_state_dict

from .student_hook import hooks_needing_the_student


def averaged_student_state(runner) -> dict | None:
    """The student's averaged weights kept by one of ``runner``'s hooks, if any."""
    for hook in runner.hooks:
        exported = getattr(hook, 'exported_student_state', None)
        state = exported() if callable(exported) else None
        if state is not None:
            return state
    return None


@HOOKS.register_module()
class StudentCheckpointHook(Hook):
    """Save ``<work_dir>/student_last.pth`` (and ``student_best.pth``) as plain checkpoints.

    ``student_last.pth`` is written at the end of training; when a CheckpointHook with
    ``save_best`` keeps a best checkpoint, ``student_best.pth`` follows it after every
    validation that improves it.  Both load in MMDetection with the student config.

    When a hook keeps a moving average of the student (``kd.StudentHook`` around
    MMEngine's ``EMAHook``: a hook whose ``exported_student_state()`` returns
    weights), the averaged weights are written, which are also the ones validated.

    Before training, a hook that acts on ``runner.model`` and would miss the student
    of a distiller (``EMAHook``, ``YOLOXModeSwitchHook``, ``SyncNormHook`` not wrapped
    in ``kd.StudentHook``) stops the run with the config that fixes it.

    kd's runtime bases (``configs/_base_/default_runtime_*.py``) register it for every
    run as ``default_hooks.student_checkpoint``; for a model without a ``student``
    (a plain teacher or student config) it does nothing. A second instance writing to
    the same place (an older recipe that also lists it in ``custom_hooks``) stands down.

    Args:
        out_dir: where to write (default: the work dir).
    """

    priority = 'VERY_LOW'  # after CheckpointHook

    def __init__(self, out_dir: str | None = None) -> None:
        self.out_dir = out_dir
        self._best_seen: str | None = None
        self._active = True

    def _write(self, runner, name: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = averaged_student_state(runner)
        if state is None:
            state = student_state_dict(model.state_dict())
        if not state:
            runner.logger.warning('StudentCheckpointHook: the model has no `student`; '
                                  'nothing exported.')
            return
        loop = getattr(runner, '_train_loop', None)
        dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
        meta = dict(dataset_meta=getattr(dataset, 'metainfo', None), iter=runner.iter,
                    epoch=runner.epoch, kd_exported_student=True)
        path = osp.join(self.out_dir or runner.work_dir, name)
        atomic_torch_save({'meta': meta, 'state_dict': {k: v.detach().cpu()
                                                        for k, v in state.items()}}, path)
        runner.logger.info(f'exported the student to {path}')

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        earlier = [h for h in runner.hooks if isinstance(h, StudentCheckpointHook)]
        if not hasattr(model, 'student'):
            self._active = False   # a plain model: nothing to export
            return
        if earlier and earlier[0] is not self and earlier[0].out_dir == self.out_dir:
            self._active = False
            runner.logger.info('StudentCheckpointHook is registered twice (default_hooks and '
                               'custom_hooks); the second one stands down')
            return
        unwrapped = hooks_needing_the_student(runner)
        if unwrapped:
            raise TypeError(
                f'{", ".join(unwrapped)} act(s) on runner.model, which is a distiller here: '
                'wrap each so that it acts on the student alone, e.g. '
                "dict(type='kd.StudentHook', hook=dict(type='EMAHook', ...), priority=49) "
                '(kd/hooks/student_hook.py)')

    @master_only
    def after_val_epoch(self, runner, metrics=None) -> None:
        if not self._active:
            return
        best = runner.message_hub.get_info('best_ckpt')
        if best and best != self._best_seen:
            self._best_seen = best
            self._write(runner, 'student_best.pth')

    @master_only
    def after_run(self, runner) -> None:
        if not self._active:
            return
        loop = getattr(runner, '_train_loop', None)
        if loop is not None and not isinstance(loop, dict):  # a training run
            self._write(runner, 'student_last.pth')
