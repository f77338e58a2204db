"""ImageNet-style classification folders: ``root/<class>/<image>``."""
from __future__ import annotations

import os
import os.path as osp
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from kd.registry import DATASETS

__all__ = ['ImageFolderClsDataset', 'IMG_EXTENSIONS', 'load_rgb']

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


def load_rgb(path: str) -> np.ndarray:
    """Decode an image file into ``uint8 (H, W, 3)`` RGB (grey and RGBA converted)."""
    from PIL import Image
    with Image.open(path) as img:
        return np.asarray(img.convert('RGB'), dtype=np.uint8).copy()


@DATASETS.register_module()
class ImageFolderClsDataset(BaseDataset):
    """Images sorted into one sub-folder per class (ImageNet's ``train/n01440764/x.JPEG``).

    Class ``i`` is the ``i``-th sub-folder in sorted order (or ``classes[i]`` when
    given, so a validation folder maps to the training folder's indices).  Every
    item is ``{'img_path': ..., 'gt_label': int, 'sample_idx': i}``; the image is
    decoded (RGB, ``uint8 (H, W, 3)``) when the item is prepared, so the pipeline
    starts without a loading transform, e.g. ``RandomResizedCropImage`` +
    ``RandomHorizontalFlip`` + ``PackClsInputs`` for training and
    ``ResizeShortEdge(256)`` + ``CenterCropImage(224)`` + ``PackClsInputs`` for
    testing.  Files are sorted, so the order is the same on every rank.

    Args:
        data_root: the data set folder.
        split: a sub-folder of ``data_root`` holding the class folders
            (``'train'``, ``'val'``); ``None`` uses ``data_root`` itself.
        classes: class folder names in label order (default: every sub-folder,
            sorted).
        extensions: image file suffixes (case-insensitive).
        pipeline: transforms applied to every item.
        metainfo: meta information; ``classes`` is set from the folders.
        **kwargs: other :class:`~mmengine.dataset.BaseDataset` arguments.

    Raises:
        FileNotFoundError: the folder, or a class folder named in ``classes``,
            does not exist.
        ValueError: no image was found.
    """

    def __init__(self, data_root: str, split: str | None = None,
                 classes: Sequence[str] | None = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 pipeline: Sequence[dict | Callable] = (),
                 metainfo: Mapping | None = None, **kwargs: Any) -> None:
        self.split = split
        self._classes = tuple(classes) if classes is not None else None
        self.extensions = tuple(e.lower() for e in extensions)
        super().__init__(ann_file='', metainfo=metainfo, data_root=data_root,
                         data_prefix={}, pipeline=list(pipeline), **kwargs)

    @property
    def folder(self) -> str:
        """The folder holding the class sub-folders."""
        return osp.join(self.data_root, self.split) if self.split else self.data_root

    def load_data_list(self) -> list[dict]:
        """Scan the class folders (sorted) into ``img_path`` / ``gt_label`` items."""
        folder = self.folder
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'image folder not found: {folder}. Expected one sub-folder per class with the '
                f'images inside ({folder}/<class>/<image>.jpg); kd does not download data sets.')
        classes = self._classes
        if classes is None:
            classes = tuple(sorted(e.name for e in os.scandir(folder) if e.is_dir()))
        missing = [c for c in classes if not osp.isdir(osp.join(folder, c))]
        if missing:
            raise FileNotFoundError(f'{folder}: class folders not found: {missing[:5]}'
                                    f'{" ..." if len(missing) > 5 else ""}')
        data_list = []
        for label, name in enumerate(classes):
            for root, _, files in sorted(os.walk(osp.join(folder, name), followlinks=True)):
                for file in sorted(files):
                    if file.lower().endswith(self.extensions):
                        data_list.append(dict(img_path=osp.join(root, file), gt_label=label))
        if not data_list:
            raise ValueError(f'{folder}: no image with a suffix in {self.extensions} under '
                             f'{len(classes)} class folder(s)')
        self._metainfo['classes'] = tuple(classes)
        return data_list

    def prepare_data(self, idx: int) -> Any:
        """Decode the image of item ``idx`` and run the pipeline."""
        info = self.get_data_info(idx)
        img = load_rgb(info['img_path'])
        info.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return self.pipeline(info)

    def get_cat_ids(self, idx: int) -> list[int]:
        """Category ids of item ``idx`` (for class-aware samplers)."""
        return [int(self.get_data_info(idx)['gt_label'])]
