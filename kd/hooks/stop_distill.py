"""Stop distillation after a given iteration or epoch."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from kd.registry import HOOKS


@HOOKS.register_module()
class StopDistillHook(Hook):
    """From ``stop_iter`` (or ``stop_epoch``) on, train the student alone.

    Every distill loss is dropped and the teacher no longer runs, so the
    remaining iterations cost what plain student training costs. The decision
    is taken from the runner's progress before every iteration, so a resumed
    run stops at the same point.

    Args:
        stop_iter: first iteration (0-based) without distillation.
        stop_epoch: first epoch (0-based) without distillation.
    """

    priority = 'HIGH'  # before the iteration's forward

    def __init__(self, stop_iter: int | None = None,
                 stop_epoch: int | None = None) -> None:
        if (stop_iter is None) == (stop_epoch is None):
            raise ValueError('StopDistillHook needs exactly one of stop_iter or stop_epoch')
        for name, value in (('stop_iter', stop_iter), ('stop_epoch', stop_epoch)):
            if value is not None and value < 0:
                raise ValueError(f'StopDistillHook: {name}={value} must be >= 0')
        self.stop_iter = stop_iter
        self.stop_epoch = stop_epoch
        self._announced = False

    def _apply(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'distill_stopped'):
            raise TypeError(f'StopDistillHook needs a kd distiller, the model is '
                            f'{type(model).__name__}')
        stop = (runner.iter >= self.stop_iter) if self.stop_iter is not None \
            else (runner.epoch >= self.stop_epoch)
        model.distill_stopped = stop
        if stop and not self._announced:
            self._announced = True
            when = f'iteration {runner.iter}' if self.stop_iter is not None \
                else f'epoch {runner.epoch}'
            runner.logger.info(f'StopDistillHook: distillation stopped at {when}; the '
                               'teacher no longer runs.')

    def before_train_epoch(self, runner) -> None:
        self._apply(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._apply(runner)
