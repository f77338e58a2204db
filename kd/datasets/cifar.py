"""CIFAR-10 / CIFAR-100 read from the official "python version" archives.

The archives (``cifar-10-python.tar.gz``, ``cifar-100-python.tar.gz`` from
https://www.cs.toronto.edu/~kriz/cifar.html) extract to ``cifar-10-batches-py/``
(``data_batch_1..5``, ``test_batch``, ``batches.meta``) and ``cifar-100-python/``
(``train``, ``test``, ``meta``).  Each batch file is a pickled dict with
``b'data'`` (``uint8 (N, 3072)``: the red, green and blue 32x32 planes of each
image) and ``b'labels'`` (CIFAR-10) or ``b'fine_labels'`` (CIFAR-100).

kd never downloads them.  The pickles are read with a restricted unpickler that
only rebuilds numpy arrays, so a tampered file cannot run code.
"""
from __future__ import annotations

import io
import os
import os.path as osp
import pickle
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from kd.registry import DATASETS

__all__ = ['CIFARDataset', 'CIFAR_LAYOUT', 'load_cifar_batch']

CIFAR_URL = 'https://www.cs.toronto.edu/~kriz/cifar.html'
CIFAR_LAYOUT = {
    10: dict(name='CIFAR-10', folder='cifar-10-batches-py', archive='cifar-10-python.tar.gz',
             train=tuple(f'data_batch_{i}' for i in range(1, 6)), test=('test_batch', ),
             label_key=b'labels', meta='batches.meta', names_key=b'label_names'),
    100: dict(name='CIFAR-100', folder='cifar-100-python', archive='cifar-100-python.tar.gz',
              train=('train', ), test=('test', ), label_key=b'fine_labels', meta='meta',
              names_key=b'fine_label_names'),
}

# the only globals a CIFAR pickle needs: numpy arrays (and bytes written by Python 3)
_ALLOWED_GLOBALS = {
    ('_codecs', 'encode'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', 'scalar'),
    ('numpy.core.numeric', '_frombuffer'),
    ('numpy._core.numeric', '_frombuffer'),
}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global except the numpy array builders."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f'refusing to load {module}.{name}: a CIFAR batch file holds only dicts, '
                'lists and numpy arrays (is this the official python-version archive?)')
        return super().find_class(module, name)


def load_cifar_batch(path: str) -> dict:
    """Read one pickled CIFAR batch (or meta) file into a dict with ``bytes`` keys.

    Raises:
        pickle.UnpicklingError: the file needs anything but numpy arrays.
    """
    with open(path, 'rb') as f:
        data = _ArrayUnpickler(io.BytesIO(f.read()), encoding='bytes').load()
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a pickled dict, got {type(data).__name__}')
    return data


def _missing_cifar_error(num_classes: int, data_root: str, path: str) -> FileNotFoundError:
    layout = CIFAR_LAYOUT[num_classes]
    parent = osp.dirname(osp.dirname(path)) or '.'
    return FileNotFoundError(
        f'{layout["name"]} file not found: {path}. kd does not download data sets: download '
        f'the python version ({layout["archive"]}) from {CIFAR_URL} and extract it into '
        f'{parent} (`mkdir -p {parent} && tar -xzf {layout["archive"]} -C {parent}`), so '
        f'that {osp.join(parent, layout["folder"])}/ holds '
        f'{", ".join(layout["train"] + layout["test"] + (layout["meta"], ))}. '
        f'(data_root={data_root!r} may be that folder itself or its parent.)')


def resolve_cifar_dir(data_root: str, num_classes: int, split: str = 'train') -> str:
    """The extracted folder for ``data_root``: ``data_root`` itself or ``data_root/<folder>``.

    Raises:
        FileNotFoundError: neither holds the first file of ``split``; the message
            names the file, where to put it and where to download the archive.
    """
    layout = CIFAR_LAYOUT[num_classes]
    first = layout['train' if split == 'train' else 'test'][0]
    candidates = [osp.join(data_root, layout['folder']), data_root]
    for folder in candidates:
        if osp.isfile(osp.join(folder, first)):
            return folder
    expected = data_root if osp.basename(osp.normpath(data_root)) == layout['folder'] \
        else candidates[0]
    raise _missing_cifar_error(num_classes, data_root, osp.join(expected, first))


@DATASETS.register_module()
class CIFARDataset(BaseDataset):
    """CIFAR-10 or CIFAR-100 held in memory (``uint8 (N, 32, 32, 3)`` RGB).

    Every item is ``{'img': uint8 (32, 32, 3), 'gt_label': int, 'sample_idx': i,
    'img_shape': (32, 32), 'ori_shape': (32, 32)}``; the pipeline starts without
    a loading transform (``RandomShiftCrop``, ``RandomHorizontalFlip``,
    ``PackClsInputs``).

    With ``num_negatives=K`` (CRD) each training item also carries
    ``contrast_idx``: ``int64 (K + 1,)``, its own index followed by ``K`` indices
    drawn with replacement from the other classes, as RepDistiller's
    ``CIFAR100InstanceSample`` (mode "exact") does. Keep it in the packed sample
    with ``PackClsInputs(meta_keys=('sample_idx', 'contrast_idx'))``; ``CRDLoss``
    reads it from there.

    Args:
        data_root: the extracted folder (``.../cifar-100-python``) or its parent
            (``data/cifar100`` holding ``cifar-100-python/``).
        split: ``'train'`` or ``'test'``; ``'val'`` is the test set too (CIFAR has
            no separate validation split; the distillation literature reports
            test accuracy).
        num_classes: 10 (CIFAR-10) or 100 (CIFAR-100, fine labels).
        pipeline: transforms applied to every item.
        num_negatives: negatives per item for CRD (0: none).
        metainfo: meta information; ``classes`` defaults to the names in the
            archive's meta file.
        **kwargs: other :class:`~mmengine.dataset.BaseDataset` arguments
            (``indices``, ``test_mode``, ``lazy_init``, ...).

    Raises:
        FileNotFoundError: a batch file is missing; the message names it, says
            where to put it and where to download the archive.
    """

    def __init__(self, data_root: str = 'data/cifar100', split: str = 'train',
                 num_classes: int = 100, pipeline: Sequence[dict | Callable] = (),
                 num_negatives: int = 0, metainfo: Mapping | None = None,
                 **kwargs: Any) -> None:
        if num_classes not in CIFAR_LAYOUT:
            raise ValueError(f'num_classes must be 10 or 100, got {num_classes}')
        if split not in ('train', 'test', 'val'):
            raise ValueError(f"split must be 'train', 'test' or 'val', got {split!r}")
        if num_negatives < 0:
            raise ValueError(f'num_negatives must be >= 0, got {num_negatives}')
        self.split = split
        self.num_classes = num_classes
        self.num_negatives = int(num_negatives)
        self._images: np.ndarray | None = None
        self._negatives: list | None = None
        super().__init__(ann_file='', metainfo=metainfo, data_root=data_root,
                         data_prefix={}, pipeline=list(pipeline), **kwargs)

    @property
    def batch_files(self) -> list[str]:
        """Paths of the batch files of this split (they need not exist)."""
        layout = CIFAR_LAYOUT[self.num_classes]
        folder = resolve_cifar_dir(self.data_root, self.num_classes, self.split)
        names = layout['train'] if self.split == 'train' else layout['test']
        return [osp.join(folder, name) for name in names]

    def _class_names(self, folder: str) -> tuple:
        layout = CIFAR_LAYOUT[self.num_classes]
        path = osp.join(folder, layout['meta'])
        if osp.isfile(path):
            names = load_cifar_batch(path).get(layout['names_key'])
            if names is not None and len(names) == self.num_classes:
                return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
        return tuple(str(i) for i in range(self.num_classes))

    def load_data_list(self) -> list[dict]:
        """Read the split's batch files; keep the images in one array."""
        layout = CIFAR_LAYOUT[self.num_classes]
        images, labels = [], []
        for path in self.batch_files:
            if not osp.isfile(path):
                raise _missing_cifar_error(self.num_classes, self.data_root, path)
            batch = load_cifar_batch(path)
            if b'data' not in batch or layout['label_key'] not in batch:
                raise KeyError(f'{path}: expected keys b"data" and {layout["label_key"]!r}, got '
                               f'{sorted(batch)}')
            data = np.asarray(batch[b'data'], dtype=np.uint8)
            if data.ndim != 2 or data.shape[1] != 3072:
                raise ValueError(f'{path}: expected data of shape (N, 3072), got {data.shape}')
            images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(np.asarray(batch[layout['label_key']], dtype=np.int64))
        self._images = np.ascontiguousarray(np.concatenate(images))
        labels = np.concatenate(labels)
        if len(labels) != len(self._images):
            raise ValueError(f'{self.split}: {len(self._images)} images but {len(labels)} labels')
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f'labels must lie in [0, {self.num_classes}), got '
                             f'[{labels.min()}, {labels.max()}] (is num_classes right?)')
        if 'classes' not in self._metainfo:
            self._metainfo['classes'] = self._class_names(osp.dirname(self.batch_files[0]))
        return [dict(img_index=i, gt_label=int(label), img_shape=(32, 32), ori_shape=(32, 32))
                for i, label in enumerate(labels)]

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()
        if self.num_negatives:
            labels = np.array([int(super(CIFARDataset, self).get_data_info(i)['gt_label'])
                               for i in range(len(self))], dtype=np.int64)
            self._negatives = [np.flatnonzero(labels != c) for c in range(self.num_classes)]

    def prepare_data(self, idx: int) -> Any:
        """The item (image attached, ``contrast_idx`` drawn) through the pipeline."""
        info = self.get_data_info(idx)
        info['img'] = self._images[info.pop('img_index')].copy()
        if self.num_negatives and not self.test_mode:
            negatives = self._negatives[info['gt_label']]
            if len(negatives) == 0:
                raise ValueError('num_negatives > 0 needs at least two classes in the data')
            drawn = np.random.choice(negatives, self.num_negatives, replace=True)
            info['contrast_idx'] = np.concatenate([[info['sample_idx']], drawn]).astype(np.int64)
        return self.pipeline(info)

    def get_cat_ids(self, idx: int) -> list[int]:
        """Category ids of item ``idx`` (for class-aware samplers)."""
        return [int(self.get_data_info(idx)['gt_label'])]


def write_cifar_batch(path: str, images: np.ndarray, labels: Sequence[int],
                      num_classes: int = 100) -> None:
    """Write ``uint8 (N, 32, 32, 3)`` images in the official batch format (for tests).

    Args:
        path: the batch file to write (its folder is created).
        images: RGB images.
        labels: one class index per image.
        num_classes: 10 writes ``b'labels'``, 100 writes ``b'fine_labels'``.
    """
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise ValueError(f'expected images (N, 32, 32, 3), got {images.shape}')
    key = CIFAR_LAYOUT[num_classes]['label_key']
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'wb') as f:
        pickle.dump({b'data': data, key: [int(v) for v in labels]}, f, protocol=2)
