"""Unlabeled images for distillation: a label split of a labeled set, and image folders.

Every sample these data sets return carries ``metainfo['unlabeled'] = True``
and *no* ground truth (empty ``gt_instances``). The distiller computes the
student's task loss only on labeled samples (or on the teacher's pseudo-labels
when a recipe asks for them); every distill entry applies to all samples.
Mix them with a labeled set through MMEngine's ``ConcatDataset`` and
MMDetection's ``MultiSourceSampler`` (``source_ratio`` sets the share of each
source in every batch), e.g.::

    train_dataloader = dict(
        batch_size=16, batch_sampler=None,
        sampler=dict(type='MultiSourceSampler', batch_size=16, source_ratio=[1, 3]),
        dataset=dict(type='ConcatDataset', datasets=[labeled, unlabeled]))
"""
from __future__ import annotations

import math
import os
import os.path as osp
from typing import Any, Sequence

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from kd.registry import DATASETS

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def mark_unlabeled(item: Any) -> Any:
    """Drop the ground truth of a packed sample and flag it ``unlabeled``."""
    sample = item['data_samples'] if isinstance(item, dict) else None
    if sample is None:
        raise TypeError('unlabeled data sets need a pipeline that ends with a packing '
                        "transform (e.g. dict(type='PackDetInputs')), got "
                        f'{type(item).__name__}')
    for key in ('gt_instances', 'ignored_instances'):
        if key in sample:
            instances = getattr(sample, key)
            setattr(sample, key, instances[torch.zeros(0, dtype=torch.long)])
    if 'gt_label' in sample:
        del sample.gt_label
    sample.set_metainfo(dict(unlabeled=True))
    return item


@DATASETS.register_module()
class SplitLabels(BaseDataset):
    """Keep the labels of a fixed share of a data set; the rest becomes unlabeled.

    The split is a seeded permutation of the inner data set's indices: the
    first ``ceil(labeled_ratio * N)`` are labeled. ``part='labeled'`` yields
    those samples as they are, ``part='unlabeled'`` the others without ground
    truth. Two instances with the same inner data set, ratio and seed are
    complementary. (A :class:`BaseDataset` so that MMEngine's
    ``ConcatDataset`` accepts it; it only wraps the inner data set.)

    Args:
        dataset: the inner (labeled) data set config or instance.
        labeled_ratio: share of samples that keep their labels, in (0, 1].
        part: ``'labeled'`` or ``'unlabeled'``.
        seed: seed of the split.
    """

    def __init__(self, dataset: Any, labeled_ratio: float, part: str = 'labeled',
                 seed: int = 0) -> None:
        if not 0 < labeled_ratio <= 1:
            raise ValueError(f'SplitLabels: labeled_ratio must be in (0, 1], got {labeled_ratio}')
        if part not in ('labeled', 'unlabeled'):
            raise ValueError(f"SplitLabels: part must be 'labeled' or 'unlabeled', got {part!r}")
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.labeled_ratio = labeled_ratio
        self.part = part
        self.seed = seed
        n = len(self.dataset)
        order = np.random.RandomState(seed).permutation(n)
        k = math.ceil(labeled_ratio * n)
        self.indices = np.sort(order[:k] if part == 'labeled' else order[k:])
        self._metainfo = dict(self.dataset.metainfo)
        self._fully_initialized = True
        self.test_mode = getattr(self.dataset, 'test_mode', False)

    @property
    def metainfo(self) -> dict:
        return dict(self._metainfo)

    def full_init(self) -> None:
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        info = dict(self.dataset.get_data_info(int(self.indices[idx])))
        if self.part == 'unlabeled':
            info['instances'] = []
            info['unlabeled'] = True
        return info

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int) -> Any:
        item = self.dataset[int(self.indices[idx])]
        return mark_unlabeled(item) if self.part == 'unlabeled' else item


@DATASETS.register_module()
class UnlabeledImageDataset(BaseDataset):
    """Every image under ``data_root`` / ``data_prefix['img']`` (or listed by a COCO json).

    Args:
        ann_file: optional COCO json; only its ``images`` list is read
            (``file_name``, ``id``, ``height``, ``width``). Without it, image
            files are found by suffix, recursively, in sorted order.
        metainfo: the labeled set's meta (``classes`` ...), so the two can be
            concatenated.
        suffixes: image file suffixes searched without ``ann_file``.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments
            (``data_root``, ``data_prefix=dict(img=...)``, ``pipeline``).
    """

    def __init__(self, ann_file: str = '', metainfo: dict | None = None,
                 suffixes: Sequence[str] = IMAGE_SUFFIXES, **kwargs) -> None:
        self.suffixes = tuple(s.lower() for s in suffixes)
        kwargs.setdefault('data_prefix', dict(img=''))
        super().__init__(ann_file=ann_file, metainfo=metainfo, **kwargs)

    def load_data_list(self) -> list:
        img_dir = self.data_prefix.get('img', '') or self.data_root
        if self.ann_file:
            import json
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'UnlabeledImageDataset: ann_file "{self.ann_file}" '
                                        'does not exist')
            with open(self.ann_file) as f:
                images = json.load(f).get('images', [])
            items = [dict(img_path=osp.join(img_dir, im['file_name']), img_id=im.get('id', i),
                          height=im.get('height'), width=im.get('width'))
                     for i, im in enumerate(images)]
        else:
            if not osp.isdir(img_dir):
                raise FileNotFoundError(f'UnlabeledImageDataset: image folder "{img_dir}" does '
                                        'not exist; set data_root / data_prefix=dict(img=...)')
            paths = sorted(osp.join(root, name) for root, _, names in os.walk(img_dir)
                           for name in names if name.lower().endswith(self.suffixes))
            items = [dict(img_path=p, img_id=i) for i, p in enumerate(paths)]
        if not items:
            raise FileNotFoundError(f'UnlabeledImageDataset: no images found in "{img_dir}" '
                                    f'(suffixes {self.suffixes})')
        for item in items:
            item.update(instances=[], unlabeled=True)
        return items

    def __getitem__(self, idx: int) -> Any:
        return mark_unlabeled(super().__getitem__(idx))
