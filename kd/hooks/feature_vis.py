"""Log teacher / student feature maps of the distill entries as images during training."""
from __future__ import annotations

from typing import Sequence

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from kd.registry import HOOKS


@HOOKS.register_module()
class FeatureVisualizationHook(Hook):
    """Every ``interval`` iterations, draw each distill entry's features of one image.

    For the first image of the current training batch, one image per entry and
    level is sent to ``runner.visualizer.add_image(name, image, step)``, so every
    configured backend receives it (``LocalVisBackend`` writes
    ``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<step>.png``,
    ``TensorboardVisBackend`` and ``WandbVisBackend`` log it). Panels: input |
    teacher | student after connector | |student - teacher| (+ FGD's foreground
    mask); see :mod:`kd.visualization.feature_maps` for what is drawn.

    How: the distiller resets its recorders at the end of every ``loss()``, so
    nothing from the training step itself is left after it. Instead of caching
    records inside the distiller, this hook re-runs a forward of the first image
    after the step (``after_train_iter``): its data preprocessor with
    ``training=False``, then teacher(s) and student with the recorders on, in
    eval mode and under ``no_grad``. The training step is untouched (BatchNorm
    statistics are not updated, no gradient is produced), and the images show the
    weights *after* the iteration's update. The extra cost is one single-image
    forward of both models every ``interval`` iterations, on the main process
    only.

    Args:
        interval: draw every ``interval`` training iterations (``<= 0``: never).
        entries: entry names to draw (default: all).
        prefix: image name prefix; names are ``<prefix>.<entry>[.level<i>]``
            (no ``/``, which ``LocalVisBackend`` would treat as a folder).
    """

    priority = 'LOW'

    def __init__(self, interval: int = 500, entries: Sequence[str] | None = None,
                 prefix: str = 'features') -> None:
        self.interval = int(interval)
        self.entries = list(entries) if entries is not None else None
        self.prefix = prefix
        self._warned = False

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.interval <= 0 or data_batch is None or \
                not self.every_n_train_iters(runner, self.interval) or not is_main_process():
            return
        from kd.visualization.feature_maps import (
            collect_features,
            first_sample,
            input_to_image,
            render_pair,
            unwrap_model,
        )
        model = unwrap_model(runner.model)
        if not callable(getattr(model, 'compute_pairs', None)):
            if not self._warned:
                self._warned = True
                runner.logger.warning('FeatureVisualizationHook: the model is not a kd '
                                      f'distiller ({type(model).__name__}); nothing drawn.')
            return
        data = model.data_preprocessor(first_sample(data_batch), False)
        inputs, data_samples = data['inputs'], data.get('data_samples')
        pairs = collect_features(model, inputs, data_samples, self.entries)
        image = input_to_image(inputs[0], model.data_preprocessor)
        step = runner.iter + 1
        for pair in pairs:
            runner.visualizer.add_image(f'{self.prefix}.{pair.name}', render_pair(pair, image),
                                        step=step)
