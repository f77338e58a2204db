"""DigitsDet: COCO-format digit detection (see :mod:`kd.datasets.digits_data`)."""
from __future__ import annotations

import os
from typing import Any

from mmdet.datasets import CocoDataset
from mmengine.registry import DefaultScope

from kd.registry import DATASETS

from .digits_data import CLASSES, DET_DIRNAME, ensure_digits_data, missing_data_error

__all__ = ['DigitsDetDataset']


@DATASETS.register_module()
class DigitsDetDataset(CocoDataset):
    """DigitsDet: 2-6 handwritten digits per cluttered 96x96 canvas, 10 classes.

    A :class:`mmdet.datasets.CocoDataset` with the digit classes. If the
    annotation file is missing and ``data_root`` is a directory named
    ``digits_det``, the data set is generated into it first (a few seconds;
    safe when several ranks start together).

    Args:
        *args: Positional arguments of :class:`~mmdet.datasets.CocoDataset`.
        auto_prepare: Generate the data set when its annotation file is
            missing (only for a ``data_root`` named ``digits_det``).
        prepare_seed: Generation seed used by the automatic preparation.
        **kwargs: Keyword arguments of :class:`~mmdet.datasets.CocoDataset`
            (``data_root``, ``ann_file``, ``data_prefix``, ``pipeline``, ...).

    Raises:
        FileNotFoundError: The annotation file is missing and cannot be
            prepared automatically; the message names the file and the command
            that generates it.

    Note:
        The pipeline is built in the ``mmdet`` scope unless another non-kd
        default scope is active, so unprefixed MMDetection transforms work
        even when the data set is built as ``kd.DigitsDetDataset`` from a
        ``kd``-scope config; name kd transforms ``'kd.Name'`` there.
    """

    #: made on first use (kd.apis.build_runner does not look for its files)
    generates_own_files = True

    METAINFO = {
        'classes': CLASSES,
        'palette': [(220, 20, 60), (0, 130, 200), (60, 180, 75), (245, 130, 48),
                    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60),
                    (250, 190, 212), (0, 128, 128)],
    }

    def __init__(self, *args: Any, auto_prepare: bool = True, prepare_seed: int = 0,
                 **kwargs: Any) -> None:
        self.auto_prepare = auto_prepare
        self.prepare_seed = prepare_seed
        current = DefaultScope.get_current_instance()
        if current is not None and current.scope_name not in ('kd', 'mmengine'):
            super().__init__(*args, **kwargs)
            return
        # Built as 'kd.DigitsDetDataset' (kd scope) or with no scope: the pipeline
        # holds MMDetection transforms, so build it in the mmdet scope (kd transforms
        # resolve there as 'kd.Name').
        with DefaultScope.overwrite_default_scope('mmdet'):
            super().__init__(*args, **kwargs)

    def _dataset_dir(self) -> str:
        """Directory of the data set: ``data_root``, else two levels above the ann file."""
        if self.data_root:
            return os.path.normpath(self.data_root)
        return os.path.dirname(os.path.dirname(os.path.abspath(self.ann_file)))

    def load_data_list(self) -> list[dict]:
        """Prepare the data set if needed, then load the COCO annotations."""
        if not os.path.isfile(self.ann_file):
            data_dir = self._dataset_dir()
            can_prepare = self.auto_prepare and os.path.basename(data_dir) == DET_DIRNAME
            if not can_prepare:
                raise missing_data_error('DigitsDet annotation file', self.ann_file,
                                         data_dir, 'det', self.auto_prepare)
            ensure_digits_data(os.path.dirname(data_dir) or '.', which=('det',),
                               seed=self.prepare_seed)
            if not os.path.isfile(self.ann_file):
                raise FileNotFoundError(
                    f'DigitsDet annotation file not found after preparing {data_dir}: '
                    f'{self.ann_file} (expected annotations/train.json or '
                    'annotations/val.json).')
        return super().load_data_list()
