"""Tests of the DigitsDet / DigitsCls generator and data sets (small sizes, fast)."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from kd.datasets import DigitsClsDataset, ensure_digits_data
from kd.datasets.digits_data import (
    CLASSES,
    GENERATOR_VERSION,
    build_digits_cls,
    build_digits_det,
    load_source_digits,
    split_source_digits,
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DET_SIZES = dict(num_train=12, num_val=4)
CLS_SIZES = dict(num_train=40, num_val=10)


def _read(path: str) -> bytes:
    with open(path, 'rb') as f:
        return f.read()


def _det_files() -> list[str]:
    return ['annotations/train.json', 'annotations/val.json', 'train/000000.png',
            'val/000003.png', 'manifest.json']


@pytest.fixture(scope='module')
def det_dir(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp('det') / 'digits_det')
    build_digits_det(out, seed=0, **DET_SIZES)
    return out


@pytest.fixture(scope='module')
def cls_dir(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp('cls') / 'digits_cls')
    build_digits_cls(out, seed=0, **CLS_SIZES)
    return out


# ---------------------------------------------------------------- source split
def test_source_split_is_disjoint_stratified_and_fixed():
    images, labels = load_source_digits()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    split = split_source_digits()
    train, val = split['train'], split['val']
    assert len(np.intersect1d(train, val)) == 0
    assert len(train) + len(val) == 1797
    assert 0.13 < len(val) / 1797 < 0.17
    for c in range(10):  # stratified: every class in both pools, ~15% in val
        n_c = int((labels == c).sum())
        n_val = int((labels[val] == c).sum())
        assert abs(n_val - 0.15 * n_c) <= 1
    again = split_source_digits()
    assert np.array_equal(again['train'], train) and np.array_equal(again['val'], val)


# ---------------------------------------------------------------- DigitsDet
def test_det_is_valid_coco(det_dir):
    from pycocotools.coco import COCO

    manifest = json.load(open(os.path.join(det_dir, 'manifest.json')))
    assert manifest['generator_version'] == GENERATOR_VERSION and manifest['seed'] == 0
    for split, num in (('train', DET_SIZES['num_train']), ('val', DET_SIZES['num_val'])):
        coco = COCO(os.path.join(det_dir, 'annotations', f'{split}.json'))
        cats = coco.loadCats(coco.getCatIds())
        assert [c['id'] for c in cats] == list(range(1, 11))
        assert [c['name'] for c in cats] == list(CLASSES)
        img_ids = coco.getImgIds()
        assert len(img_ids) == num
        for img in coco.loadImgs(img_ids):
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
            assert 1 <= len(anns) <= 6
            path = os.path.join(det_dir, split, img['file_name'])
            with Image.open(path) as im:
                assert im.mode == 'RGB' and im.size == (img['width'], img['height']) == (96, 96)
            for ann in anns:
                x, y, w, h = ann['bbox']
                assert w > 0 and h > 0 and ann['area'] == w * h > 0
                assert x >= 0 and y >= 0 and x + w <= img['width'] and y + h <= img['height']
                assert ann['iscrowd'] == 0 and 1 <= ann['category_id'] <= 10
                assert 5 <= max(w, h) <= 46
        assert manifest['counts'][f'num_{split}_images'] == num


def test_det_label_matches_source_and_pools_are_disjoint(det_dir):
    _, labels = load_source_digits()
    pools = split_source_digits()
    for split in ('train', 'val'):
        data = json.load(open(os.path.join(det_dir, 'annotations', f'{split}.json')))
        src = np.array([a['source_idx'] for a in data['annotations']])
        assert np.isin(src, pools[split]).all()
        cats = np.array([a['category_id'] for a in data['annotations']])
        assert np.array_equal(labels[src] + 1, cats)


def test_det_deterministic(det_dir, tmp_path):
    same = str(tmp_path / 'same')
    build_digits_det(same, seed=0, **DET_SIZES)
    for rel in _det_files():
        assert _read(os.path.join(det_dir, rel)) == _read(os.path.join(same, rel)), rel
    other = str(tmp_path / 'other')
    build_digits_det(other, seed=1, **DET_SIZES)
    assert _read(os.path.join(det_dir, 'annotations/train.json')) != \
        _read(os.path.join(other, 'annotations/train.json'))
    assert _read(os.path.join(det_dir, 'train/000000.png')) != \
        _read(os.path.join(other, 'train/000000.png'))


# ---------------------------------------------------------------- DigitsCls
def test_cls_files(cls_dir):
    meta = json.load(open(os.path.join(cls_dir, 'meta.json')))
    assert meta['classes'] == list(CLASSES) and meta['seed'] == 0
    assert meta['version'] == GENERATOR_VERSION
    _, labels = load_source_digits()
    pools = split_source_digits()
    for split, num in (('train', CLS_SIZES['num_train']), ('val', CLS_SIZES['num_val'])):
        with np.load(os.path.join(cls_dir, f'{split}.npz')) as npz:
            images, lab, src = npz['images'], npz['labels'], npz['source_idx']
        assert images.shape == (num, 32, 32, 3) and images.dtype == np.uint8
        assert lab.shape == (num,) and lab.dtype == np.int64
        assert np.array_equal(np.bincount(lab, minlength=10), np.full(10, num // 10))
        assert np.isin(src, pools[split]).all()
        assert np.array_equal(labels[src], lab)
        assert images.std() > 10  # not blank


def test_cls_deterministic(cls_dir, tmp_path):
    same = str(tmp_path / 'same')
    build_digits_cls(same, seed=0, **CLS_SIZES)
    for name in ('train.npz', 'val.npz', 'meta.json', 'manifest.json'):
        assert _read(os.path.join(cls_dir, name)) == _read(os.path.join(same, name)), name
    other = str(tmp_path / 'other')
    build_digits_cls(other, seed=1, **CLS_SIZES)
    assert _read(os.path.join(cls_dir, 'train.npz')) != _read(os.path.join(other, 'train.npz'))


def test_cls_dataset(cls_dir):
    ds = DigitsClsDataset(data_root=cls_dir, split='val', auto_prepare=False)
    assert len(ds) == CLS_SIZES['num_val']
    assert ds.metainfo['classes'] == CLASSES
    item = ds[3]
    assert isinstance(item['img'], np.ndarray) and item['img'].shape == (32, 32, 3)
    assert item['img'].dtype == np.uint8
    assert isinstance(item['gt_label'], int) and 0 <= item['gt_label'] <= 9
    assert item['sample_idx'] == 3
    with np.load(os.path.join(cls_dir, 'val.npz')) as npz:
        assert np.array_equal(item['img'], npz['images'][3])
        assert item['gt_label'] == int(npz['labels'][3])
    assert ds.get_cat_ids(3) == [item['gt_label']]
    train = DigitsClsDataset(data_root=cls_dir, split='train', auto_prepare=False,
                             pipeline=[lambda r: dict(r, flag=True)])
    assert len(train) == CLS_SIZES['num_train'] and train[0]['flag']


def test_cls_dataset_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match='prepare_digits.py'):
        DigitsClsDataset(data_root=str(tmp_path / 'digits_cls'), split='train',
                         auto_prepare=False)
    with pytest.raises(FileNotFoundError, match='train.npz'):  # not named digits_cls
        DigitsClsDataset(data_root=str(tmp_path / 'elsewhere'), split='train')
    with pytest.raises(ValueError):
        DigitsClsDataset(data_root=str(tmp_path), split='test')


# ---------------------------------------------------------------- ensure / CLI
def _ensure_small(root: str) -> None:
    ensure_digits_data(root, which=('det', 'cls'), det_kwargs=DET_SIZES, cls_kwargs=CLS_SIZES,
                       verbose=False)


def test_ensure_builds_once_and_keeps(tmp_path, capsys):
    root = str(tmp_path)
    ensure_digits_data(root, which='det', det_kwargs=DET_SIZES)
    out = capsys.readouterr().out
    assert 'building DigitsDet' in out and 'ready' in out
    ann = os.path.join(root, 'digits_det', 'annotations', 'train.json')
    mtime = os.stat(ann).st_mtime_ns
    ensure_digits_data(root, which='det', det_kwargs=DET_SIZES)
    assert capsys.readouterr().out == ''
    assert os.stat(ann).st_mtime_ns == mtime
    assert not os.path.exists(os.path.join(root, 'digits_cls'))
    # another seed (or other sizes) replaces the data set
    ensure_digits_data(root, which='det', seed=3, det_kwargs=DET_SIZES, verbose=False)
    assert json.load(open(os.path.join(root, 'digits_det', 'manifest.json')))['seed'] == 3
    leftovers = [n for n in os.listdir(root) if '.tmp-' in n or '.old-' in n]
    assert leftovers == []
    with pytest.raises(ValueError):
        ensure_digits_data(root, which=('seg',))


@pytest.mark.skipif(sys.platform == 'win32' or 'fork' not in mp.get_all_start_methods(),
                    reason='needs fork')
def test_ensure_concurrent_callers(tmp_path):
    root = str(tmp_path)
    ctx = mp.get_context('fork')
    procs = [ctx.Process(target=_ensure_small, args=(root,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert sorted(n for n in os.listdir(root) if not n.endswith('.lock')) == \
        ['digits_cls', 'digits_det']
    ref = str(tmp_path / 'ref')
    build_digits_det(ref, **DET_SIZES)
    assert _read(os.path.join(root, 'digits_det/annotations/train.json')) == \
        _read(os.path.join(ref, 'annotations/train.json'))


def test_cli(tmp_path):
    script = os.path.join(REPO_ROOT, 'tools', 'data', 'prepare_digits.py')
    cmd = [sys.executable, script, '--data-root', str(tmp_path), '--num-train', '10',
           '--num-val', '10', '--seed', '2']
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert 'DigitsDet (wrote)' in res.stdout and 'DigitsCls (wrote)' in res.stdout
    assert 'done in' in res.stdout
    manifest = json.load(open(tmp_path / 'digits_det' / 'manifest.json'))
    assert manifest['seed'] == 2 and manifest['counts']['num_train_images'] == 10
    with np.load(tmp_path / 'digits_cls' / 'val.npz') as npz:
        assert len(npz['labels']) == 10
    res = subprocess.run(cmd + ['--only', 'cls'], capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert 'DigitsCls (kept existing)' in res.stdout and 'DigitsDet' not in res.stdout


# ---------------------------------------------------------------- DigitsDetDataset
def test_det_dataset(det_dir):
    pytest.importorskip('mmdet.datasets')
    from kd.datasets import DigitsDetDataset

    ds = DigitsDetDataset(data_root=det_dir, ann_file='annotations/val.json',
                          data_prefix=dict(img='val/'), pipeline=[], auto_prepare=False)
    assert len(ds) == DET_SIZES['num_val']
    assert ds.metainfo['classes'] == CLASSES and len(ds.metainfo['palette']) == 10
    info = ds.get_data_info(0)
    assert os.path.isfile(info['img_path']) and (info['height'], info['width']) == (96, 96)
    assert len(info['instances']) >= 1
    for inst in info['instances']:
        assert 0 <= inst['bbox_label'] <= 9
        x0, y0, x1, y1 = inst['bbox']
        assert 0 <= x0 < x1 <= 96 and 0 <= y0 < y1 <= 96


def test_det_dataset_registered_and_built_from_config(det_dir):
    pytest.importorskip('mmdet.datasets')
    from kd.registry import DATASETS

    ds = DATASETS.build(dict(type='DigitsDetDataset', data_root=det_dir,
                             ann_file='annotations/train.json', data_prefix=dict(img='train/'),
                             pipeline=[], auto_prepare=False))
    assert len(ds) == DET_SIZES['num_train']


def test_det_dataset_missing(tmp_path):
    pytest.importorskip('mmdet.datasets')
    from kd.datasets import DigitsDetDataset

    with pytest.raises(FileNotFoundError, match=r'annotations/train\.json.*prepare_digits\.py'):
        DigitsDetDataset(data_root=str(tmp_path / 'digits_det'),
                         ann_file='annotations/train.json', data_prefix=dict(img='train/'),
                         pipeline=[], auto_prepare=False)
    with pytest.raises(FileNotFoundError, match='prepare_digits.py'):
        DigitsDetDataset(data_root=str(tmp_path / 'other'), ann_file='annotations/train.json',
                         data_prefix=dict(img='train/'), pipeline=[])


@pytest.mark.parametrize('scope', ['mmdet', 'kd'])
def test_det_dataset_with_mmdet_pipeline(det_dir, scope):
    """Unprefixed mmdet transforms work whether the default scope is mmdet or kd."""
    pytest.importorskip('mmdet.datasets')
    from mmengine.registry import DATASETS as ROOT_DATASETS
    from mmengine.registry import DefaultScope

    from kd.registry import DATASETS

    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackDetInputs')]
    cfg = dict(type='kd.DigitsDetDataset', data_root=det_dir, ann_file='annotations/val.json',
               data_prefix=dict(img='val/'), pipeline=pipeline, test_mode=True)
    for registry in (ROOT_DATASETS, DATASETS):
        with DefaultScope.overwrite_default_scope(scope):
            item = registry.build(dict(cfg))[0]
        assert tuple(item['inputs'].shape) == (3, 96, 96)
        gt = item['data_samples'].gt_instances
        assert len(gt) >= 1 and gt.bboxes.shape[-1] == 4
        assert int(gt.labels.min()) >= 0 and int(gt.labels.max()) <= 9


# ---------------------------------------------------------------- auto-prepare
@pytest.fixture
def small_defaults(monkeypatch):
    """Shrink the default sizes so automatic preparation is fast."""
    from kd.datasets import digits_data

    for key, value in DET_SIZES.items():
        monkeypatch.setitem(digits_data.DET_DEFAULTS, key, value)
    for key, value in CLS_SIZES.items():
        monkeypatch.setitem(digits_data.CLS_DEFAULTS, key, value)


def test_cls_dataset_auto_prepare(tmp_path, small_defaults):
    ds = DigitsClsDataset(data_root=str(tmp_path / 'digits_cls') + '/', split='val')
    assert len(ds) == CLS_SIZES['num_val']
    assert not os.path.exists(tmp_path / 'digits_det')


def test_det_dataset_auto_prepare(tmp_path, small_defaults):
    pytest.importorskip('mmdet.datasets')
    from kd.datasets import DigitsDetDataset

    ds = DigitsDetDataset(data_root=str(tmp_path / 'digits_det'),
                          ann_file='annotations/train.json', data_prefix=dict(img='train/'),
                          pipeline=[])
    assert len(ds) == DET_SIZES['num_train']
    assert not os.path.exists(tmp_path / 'digits_cls')
