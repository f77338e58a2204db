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
    pipeline (:func:`kd.distillers.pipeline_randomness.random_transforms`: a class that
    declares randomness, a known random augmentation, or ``0 < prob < 1``) and
    stops with a message when there is one. After every training epoch, and at
    the end of training (iteration-based loops run one long "epoch"), it writes
    the cache atomically when it holds new records.
    """

    priority = 'LOW'

    @staticmethod
    def _teacher_with_cache(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        side = getattr(model, 'teacher_side', None)
        return side if getattr(side, 'cache', None) is not None else None

    def before_train(self, runner) -> None:
        if self._teacher_with_cache(runner) is None:
            return
        from kd.distillers.pipeline_randomness import refuse_random_pipeline
        loader = runner.train_dataloader
        for dataset in _datasets(getattr(loader, 'dataset', None)):
            refuse_random_pipeline(getattr(dataset, 'pipeline', None),
                                   f'the training data set {type(dataset).__name__}')

    def _save(self, runner) -> None:
        side = self._teacher_with_cache(runner)
        if side is None:
            return
        path = side.save_cache()
        if path:
            cache = side.cache
            runner.logger.info(f'teacher cache: {len(cache)} samples written to {path} '
                               f'({cache.hits} batches served from it, {cache.misses} by '
                               'the teacher so far)')

    def after_train_epoch(self, runner) -> None:
        self._save(runner)

    def after_train(self, runner) -> None:
        self._save(runner)
