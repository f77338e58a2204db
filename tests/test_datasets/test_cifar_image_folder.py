"""CIFARDataset (official python-version pickles), ImageFolderClsDataset and the
classification transforms, on tiny synthetic files."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from kd.datasets import (
    CenterCropImage,
    CIFARDataset,
    ImageFolderClsDataset,
    PackClsInputs,
    RandomHorizontalFlip,
    RandomResizedCropImage,
    ResizeShortEdge,
)
from kd.datasets.cifar import load_cifar_batch, write_cifar_batch
from kd.losses.relation.crd import indices_from_data_samples
from kd.registry import DATASETS, TRANSFORMS


def _images(n, seed):
    return np.random.RandomState(seed).randint(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def _cifar100(root, n_train=12, n_test=6):
    folder = root / 'cifar-100-python'
    train, test = _images(n_train, 0), _images(n_test, 1)
    train_labels = [i % 4 for i in range(n_train)]
    write_cifar_batch(str(folder / 'train'), train, train_labels, num_classes=100)
    write_cifar_batch(str(folder / 'test'), test, [99] * n_test, num_classes=100)
    names = [f'class{i}'.encode() for i in range(100)]
    with open(folder / 'meta', 'wb') as f:
        pickle.dump({b'fine_label_names': names, b'coarse_label_names': []}, f, protocol=2)
    return folder, train, train_labels


def test_cifar100_items_and_layout(tmp_path):
    folder, train, labels = _cifar100(tmp_path)
    for root in (tmp_path, folder):    # the parent or the extracted folder itself
        ds = CIFARDataset(data_root=str(root), split='train', num_classes=100)
        assert len(ds) == 12 and ds.metainfo['classes'][3] == 'class3'
        item = ds[5]
        assert item['img'].shape == (32, 32, 3) and item['img'].dtype == np.uint8
        np.testing.assert_array_equal(item['img'], train[5])  # planes decoded as RGB
        assert item['gt_label'] == labels[5] and item['sample_idx'] == 5
        assert ds.get_cat_ids(5) == [labels[5]]
    test = CIFARDataset(data_root=str(tmp_path), split='test')
    val = CIFARDataset(data_root=str(tmp_path), split='val')
    assert len(test) == len(val) == 6 and test[0]['gt_label'] == 99


def test_cifar10_reads_five_batches(tmp_path):
    folder = tmp_path / 'cifar-10-batches-py'
    for i in range(1, 6):
        write_cifar_batch(str(folder / f'data_batch_{i}'), _images(2, i), [i, i + 1],
                          num_classes=10)
    write_cifar_batch(str(folder / 'test_batch'), _images(3, 9), [0, 1, 2], num_classes=10)
    ds = DATASETS.build(dict(type='CIFARDataset', data_root=str(tmp_path), split='train',
                             num_classes=10, pipeline=[dict(type='PackClsInputs')]))
    assert len(ds) == 10 and ds.metainfo['classes'] == tuple(str(i) for i in range(10))
    packed = ds[9]
    assert packed['inputs'].shape == (3, 32, 32) and int(packed['data_samples'].gt_label) == 6
    assert len(CIFARDataset(data_root=str(folder), split='test', num_classes=10)) == 3


def test_cifar_missing_files_say_what_where_and_from_where(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        CIFARDataset(data_root=str(tmp_path / 'cifar100'), split='train')
    msg = str(err.value)
    assert os.path.join(str(tmp_path / 'cifar100'), 'cifar-100-python', 'train') in msg
    assert 'https://www.cs.toronto.edu/~kriz/cifar.html' in msg
    assert 'cifar-100-python.tar.gz' in msg and 'tar -xzf' in msg
    folder = tmp_path / 'c10' / 'cifar-10-batches-py'
    for i in (1, 2):
        write_cifar_batch(str(folder / f'data_batch_{i}'), _images(1, i), [0], num_classes=10)
    with pytest.raises(FileNotFoundError, match='data_batch_3'):
        CIFARDataset(data_root=str(tmp_path / 'c10'), split='train', num_classes=10)
    with pytest.raises(ValueError, match='num_classes'):
        CIFARDataset(data_root=str(tmp_path), num_classes=20)


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_cifar_pickles_are_loaded_without_running_code(tmp_path):
    path = tmp_path / 'train'
    with open(path, 'wb') as f:
        pickle.dump({b'data': _Evil(), b'fine_labels': [0]}, f)
    with pytest.raises(pickle.UnpicklingError, match='refusing'):
        load_cifar_batch(str(path))
    for protocol in (2, 4, 5):   # numpy arrays pickled by any protocol are fine
        with open(path, 'wb') as f:
            pickle.dump({b'data': np.arange(6, dtype=np.uint8)}, f, protocol=protocol)
        np.testing.assert_array_equal(load_cifar_batch(str(path))[b'data'], np.arange(6))


def test_cifar_contrast_indices_for_crd(tmp_path):
    _, _, labels = _cifar100(tmp_path, n_train=16)
    ds = CIFARDataset(data_root=str(tmp_path), split='train', num_negatives=7, pipeline=[
        PackClsInputs(meta_keys=('sample_idx', 'contrast_idx'))])
    samples = [ds[i]['data_samples'] for i in (3, 8)]
    idx = indices_from_data_samples(samples, 'contrast_idx')
    assert idx.shape == (2, 8) and idx[:, 0].tolist() == [3, 8]
    labels = np.asarray(labels)
    for row, i in zip(idx, (3, 8)):
        assert (labels[row[1:].numpy()] != labels[i]).all()   # negatives of other classes
    test = CIFARDataset(data_root=str(tmp_path), split='train', num_negatives=7, test_mode=True)
    assert 'contrast_idx' not in test[0]


def _image_folder(root):
    from PIL import Image
    colours = {'cat': (255, 0, 0), 'dog': (0, 0, 255)}
    for name, colour in colours.items():
        os.makedirs(root / name / 'sub', exist_ok=True)
        for i, size in enumerate([(40, 30), (24, 50)]):
            Image.new('RGB', size, colour).save(root / name / f'{i}.png')
        Image.new('L', (20, 20), 128).save(root / name / 'sub' / 'grey.jpg')
    (root / 'cat' / 'notes.txt').write_text('not an image')
    return colours


def test_image_folder_dataset(tmp_path):
    _image_folder(tmp_path / 'train')
    ds = DATASETS.build(dict(type='ImageFolderClsDataset', data_root=str(tmp_path),
                             split='train', pipeline=[
                                 dict(type='ResizeShortEdge', size=16),
                                 dict(type='CenterCropImage', size=16),
                                 dict(type='RandomHorizontalFlip', prob=0.5),
                                 dict(type='PackClsInputs')]))
    assert ds.metainfo['classes'] == ('cat', 'dog') and len(ds) == 6
    assert [ds.get_cat_ids(i)[0] for i in range(6)] == [0, 0, 0, 1, 1, 1]
    item = ds[0]
    assert item['inputs'].shape == (3, 16, 16) and item['inputs'].dtype == torch.uint8
    assert item['inputs'][:, 8, 8].tolist() == [255, 0, 0]          # RGB order
    assert item['data_samples'].img_path.endswith(os.path.join('cat', '0.png'))
    grey = ds[2]['inputs']
    assert grey.shape == (3, 16, 16) and grey[:, 0, 0].tolist() == [128, 128, 128]
    batch = pseudo_collate([ds[i] for i in range(6)])
    assert len(batch['inputs']) == 6
    # a validation folder keeps the training folder's class indices
    only_dog = ImageFolderClsDataset(data_root=str(tmp_path / 'train'), classes=['dog'])
    assert len(only_dog) == 3 and only_dog.get_cat_ids(0) == [0]
    mapped = DATASETS.build(dict(type='ImageFolderClsDataset', data_root=str(tmp_path),
                                 split='train', classes=['x', 'cat', 'dog'], lazy_init=True))
    with pytest.raises(FileNotFoundError, match='x'):
        mapped.full_init()
    with pytest.raises(FileNotFoundError, match='one sub-folder per class'):
        ImageFolderClsDataset(data_root=str(tmp_path), split='val')


def test_flip_and_imagenet_transforms():
    img = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    flipped = RandomHorizontalFlip(prob=1.0)(dict(img=img.copy()))
    np.testing.assert_array_equal(flipped['img'], img[:, ::-1])
    assert flipped['flip']
    kept = RandomHorizontalFlip(prob=0.0)(dict(img=img.copy()))
    np.testing.assert_array_equal(kept['img'], img)
    assert not kept['flip']
    assert isinstance(TRANSFORMS.build(dict(type='RandomHorizontalFlip')), RandomHorizontalFlip)
    big = np.zeros((60, 90, 3), np.uint8)
    assert ResizeShortEdge(30)(dict(img=big))['img'].shape == (30, 45, 3)
    crop = CenterCropImage((20, 10))(dict(img=big))
    assert crop['img'].shape == (20, 10, 3) and crop['img_shape'] == (20, 10)
    assert CenterCropImage(100)(dict(img=big))['img'].shape == (100, 100, 3)  # padded
    np.random.seed(0)
    for _ in range(5):
        out = RandomResizedCropImage(24)(dict(img=big))
        assert out['img'].shape == (24, 24, 3)
    with pytest.raises(ValueError):
        RandomHorizontalFlip(prob=2.0)
    packed = PackClsInputs()(dict(img=out['img'], gt_label=1))
    assert packed['inputs'].shape == (3, 24, 24)
