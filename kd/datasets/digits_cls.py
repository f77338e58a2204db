"""DigitsCls: in-memory digit classification (see :mod:`kd.datasets.digits_data`)."""
from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from kd.registry import DATASETS

from .digits_data import CLASSES, CLS_DIRNAME, ensure_digits_data, missing_data_error

__all__ = ['DigitsClsDataset']


@DATASETS.register_module()
class DigitsClsDataset(BaseDataset):
    """DigitsCls: one handwritten digit per cluttered RGB image, 10 classes.

    The images live in ``data_root/{split}.npz`` and are held in memory; every
    data item is ``{'img': uint8 (H, W, 3), 'gt_label': int, 'sample_idx': i,
    'img_shape': (H, W), 'ori_shape': (H, W)}`` (no file paths, so the
    pipeline starts without a loading transform). If the file is missing and
    ``data_root`` is a directory named ``digits_cls``, the data set is
    generated into it first (safe when several ranks start together).

    Args:
        data_root: Directory holding ``train.npz`` / ``val.npz``.
        split: ``'train'`` or ``'val'``.
        pipeline: Transforms applied to every item.
        auto_prepare: Generate the data set when the split file is missing
            (only for a ``data_root`` named ``digits_cls``).
        metainfo: Meta information; ``classes`` defaults to ``'0'..'9'``.
        prepare_seed: Generation seed used by the automatic preparation.
        **kwargs: Other :class:`~mmengine.dataset.BaseDataset` arguments
            (``indices``, ``serialize_data``, ``test_mode``, ``lazy_init``, ...).

    Raises:
        FileNotFoundError: The split file is missing and cannot be prepared
            automatically; the message names the file and the command that
            generates it.
    """

    #: made on first use (kd.apis.build_runner does not look for its files)
    generates_own_files = True

    METAINFO = {'classes': CLASSES}

    def __init__(self, data_root: str = 'data/digits_cls', split: str = 'train',
                 pipeline: Sequence[dict | Callable] = (), auto_prepare: bool = True,
                 metainfo: Mapping | None = None, prepare_seed: int = 0,
                 **kwargs: Any) -> None:
        if split not in ('train', 'val'):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        self.split = split
        self.auto_prepare = auto_prepare
        self.prepare_seed = prepare_seed
        super().__init__(ann_file='', metainfo=metainfo, data_root=data_root,
                         data_prefix={}, pipeline=list(pipeline), **kwargs)

    @property
    def split_file(self) -> str:
        """Path of the ``.npz`` file of this split."""
        return os.path.join(self.data_root, f'{self.split}.npz')

    def load_data_list(self) -> list[dict]:
        """Load (preparing if needed) the split into a list of in-memory items."""
        path = self.split_file
        if not os.path.isfile(path):
            data_dir = os.path.normpath(self.data_root)
            if not (self.auto_prepare and os.path.basename(data_dir) == CLS_DIRNAME):
                raise missing_data_error('DigitsCls split file', path, data_dir, 'cls',
                                         self.auto_prepare)
            ensure_digits_data(os.path.dirname(data_dir) or '.', which=('cls',),
                               seed=self.prepare_seed)
        with np.load(path, allow_pickle=False) as npz:
            images = np.asarray(npz['images'], dtype=np.uint8)
            labels = np.asarray(npz['labels'], dtype=np.int64)
        if images.ndim != 4 or images.shape[-1] != 3 or len(images) != len(labels):
            raise ValueError(f'{path}: expected images (N, H, W, 3) and labels (N,), got '
                             f'{images.shape} and {labels.shape}')
        shape = tuple(int(v) for v in images.shape[1:3])
        return [dict(img=images[i], gt_label=int(labels[i]), sample_idx=i, img_shape=shape,
                     ori_shape=shape) for i in range(len(labels))]

    def get_cat_ids(self, idx: int) -> list[int]:
        """Category ids of item ``idx`` (for class-aware samplers)."""
        return [int(self.get_data_info(idx)['gt_label'])]
