"""Unlabeled data: label splits, image folders, and the share of each source per batch."""
import os

import numpy as np
import pytest

pytest.importorskip('mmdet')

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
            dict(type='PackDetInputs')]


def _digits(root):
    return dict(type='kd.DigitsDetDataset', data_root=root + '/',
                ann_file='annotations/train.json', data_prefix=dict(img='train/'),
                pipeline=PIPELINE, auto_prepare=False)


def _build(cfg):
    from mmengine.registry import init_default_scope

    import kd  # noqa: F401
    from kd.registry import DATASETS
    init_default_scope('mmdet')
    return DATASETS.build(cfg)


def test_split_is_complementary_and_strips_labels(tiny_digits_det):
    labeled = _build(dict(type='kd.SplitLabels', dataset=_digits(tiny_digits_det),
                          labeled_ratio=0.25, part='labeled', seed=3))
    unlabeled = _build(dict(type='kd.SplitLabels', dataset=_digits(tiny_digits_det),
                            labeled_ratio=0.25, part='unlabeled', seed=3))
    assert len(labeled) == 12 and len(unlabeled) == 36           # ceil(0.25 * 48)
    assert not set(labeled.indices) & set(unlabeled.indices)
    assert sorted(set(labeled.indices) | set(unlabeled.indices)) == list(range(48))
    expected = np.sort(np.random.RandomState(3).permutation(48)[:12])
    assert list(labeled.indices) == list(expected)
    item = labeled[0]['data_samples']
    assert len(item.gt_instances) > 0 and not item.metainfo.get('unlabeled', False)
    for i in range(3):
        sample = unlabeled[i]['data_samples']
        assert sample.metainfo['unlabeled'] is True and len(sample.gt_instances) == 0
    assert unlabeled.get_data_info(0)['instances'] == []


def test_image_folder_and_coco_json(tiny_digits_det, tmp_path):
    folder = os.path.join(tiny_digits_det, 'val')
    ds = _build(dict(type='kd.UnlabeledImageDataset', data_root=folder,
                     pipeline=[dict(type='LoadImageFromFile'), dict(type='PackDetInputs')],
                     metainfo=dict(classes=tuple(str(i) for i in range(10)))))
    assert len(ds) == len(os.listdir(folder)) == 16
    sample = ds[0]['data_samples']
    assert sample.metainfo['unlabeled'] and len(sample.gt_instances) == 0
    from_json = _build(dict(type='kd.UnlabeledImageDataset', data_root=tiny_digits_det,
                            ann_file='annotations/val.json', data_prefix=dict(img='val/'),
                            pipeline=[dict(type='LoadImageFromFile'),
                                      dict(type='PackDetInputs')]))
    assert len(from_json) == 16
    with pytest.raises(FileNotFoundError, match='does not exist'):
        _build(dict(type='kd.UnlabeledImageDataset', data_root=str(tmp_path / 'none'),
                    pipeline=[]))


def test_batches_follow_the_source_ratio(tiny_digits_det):
    from mmdet.datasets.samplers import MultiSourceSampler
    from mmengine.dataset import ConcatDataset
    labeled = _build(dict(type='kd.SplitLabels', dataset=_digits(tiny_digits_det),
                          labeled_ratio=0.25, part='labeled'))
    unlabeled = _build(dict(type='kd.SplitLabels', dataset=_digits(tiny_digits_det),
                            labeled_ratio=0.25, part='unlabeled'))
    both = ConcatDataset([labeled, unlabeled])
    sampler = MultiSourceSampler(both, batch_size=8, source_ratio=[1, 3], seed=0)
    it = iter(sampler)
    for _ in range(5):
        batch = [next(it) for _ in range(8)]
        n_labeled = sum(i < len(labeled) for i in batch)
        assert n_labeled == 2, batch          # 8 * 1 / (1 + 3)
        flags = [both[i]['data_samples'].metainfo.get('unlabeled', False) for i in batch]
        assert sum(flags) == 6
