"""Check and persist the distiller's teacher output cache (``teacher=dict(cache=PATH)``)."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from kd.registry import HOOKS


def _datasets(dataset):
    """The innermost datasets of wrappers (RepeatDataset, ConcatDataset, ...)."""
    inner = [getattr(dataset, 'dataset', None)] + list(getattr(dataset, 'datasets', None) or [])
    inner = [d for d in inner if d is not None]
    if not inner:
        yield dataset
    for d in inner:
        yield from _datasets(d)


@HOOKS.register_module()
class TeacherCacheHook(Hook):
    """Refuse random training pipelines and write the teacher cache after every epoch.

    ``kd.apis.build_runner`` adds this hook by itself when the recipe's
    teacher has ``cache=PATH``. Before training it inspects the built training
    pipeline (:func:`kd.distillers.teacher_cache.random_transforms`: a class name
    containing ``Random``, a known random augmentation, or ``0 < prob < 1``) and
    stops with a message when there is one. After every training epoch, and at
    the end of training (iteration-based loops run one long "epoch"), it writes
    the cache atomically when it holds new records.
    """

    priority = 'LOW'

    @staticmethod
    def _distiller(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return model if getattr(model, 'teacher_cache', None) is not None else None

    def before_train(self, runner) -> None:
        if self._distiller(runner) is None:
            return
        from kd.distillers.teacher_cache import refuse_random_pipeline
        loader = runner.train_dataloader
        for dataset in _datasets(getattr(loader, 'dataset', None)):
            refuse_random_pipeline(getattr(dataset, 'pipeline', None),
                                   f'the training data set {type(dataset).__name__}')

    def _save(self, runner) -> None:
        model = self._distiller(runner)
        if model is None:
            return
        path = model.save_teacher_cache()
        if path:
            cache = model.teacher_cache
            runner.logger.info(f'teacher cache: {len(cache)} samples written to {path} '
                               f'({cache.hits} batches served from it, {cache.misses} by '
                               'the teacher so far)')

    def after_train_epoch(self, runner) -> None:
        self._save(runner)

    def after_train(self, runner) -> None:
        self._save(runner)
