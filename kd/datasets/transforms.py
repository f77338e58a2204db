"""Data transforms for classification: augmentation and packing.

Transforms are plain callables on a results ``dict`` (MMEngine's ``Compose``
accepts them); each also exposes ``transform(results)`` like MMCV transforms.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.structures import BaseDataElement

from kd.registry import TRANSFORMS


class _Transform:
    """Base of the ``kd`` transforms: ``__call__`` delegates to ``transform``."""

    def transform(self, results: dict) -> Optional[dict]:
        raise NotImplementedError

    def __call__(self, results: dict) -> Optional[dict]:
        return self.transform(results)


@TRANSFORMS.register_module()
class RandomShiftCrop(_Transform):
    """Pad the image by ``pad`` pixels on each side, then crop a random window
    of the original size: a random shift of up to ``pad`` pixels (the standard
    CIFAR augmentation "pad 4, random crop 32").

    Randomness comes from ``np.random`` so MMEngine's seeding (and its
    per-worker seeds) make it reproducible.

    Args:
        pad: padding on each side, in pixels (0 makes the transform a no-op).
        pad_val: value of the padded pixels.
    """

    def __init__(self, pad: int = 2, pad_val: float = 0) -> None:
        if pad < 0:
            raise ValueError(f'pad must be >= 0, got {pad}')
        self.pad = pad
        self.pad_val = pad_val

    def transform(self, results: dict) -> dict:
        """Shift ``results['img']`` (``(H, W)`` or ``(H, W, C)``) randomly."""
        if self.pad == 0:
            return results
        img = results['img']
        h, w = img.shape[:2]
        widths = [(self.pad, self.pad), (self.pad, self.pad)] + [(0, 0)] * (img.ndim - 2)
        padded = np.pad(img, widths, mode='constant', constant_values=self.pad_val)
        top, left = np.random.randint(0, 2 * self.pad + 1, size=2)
        results['img'] = np.ascontiguousarray(padded[top:top + h, left:left + w])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(pad={self.pad}, pad_val={self.pad_val})'


@TRANSFORMS.register_module()
class PackClsInputs(_Transform):
    """Pack a classification sample into ``dict(inputs, data_samples)``.

    * ``inputs``: the image as a ``(C, H, W)`` tensor of its own dtype (uint8
      for decoded images); a ``(H, W)`` image becomes ``(1, H, W)``.
    * ``data_samples``: a :class:`~mmengine.structures.BaseDataElement` with
      ``gt_label`` (int64 tensor of shape ``(1,)``, when the sample has a
      label) and the ``meta_keys`` present in the sample as metainfo.

    Args:
        meta_keys: keys copied to the data sample's metainfo when present.
    """

    def __init__(self, meta_keys: Sequence[str] = ('sample_idx', 'img_path')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Return ``dict(inputs=tensor, data_samples=BaseDataElement)``."""
        img = np.asarray(results['img'])
        if img.ndim == 2:
            img = img[..., None]
        if img.ndim != 3:
            raise ValueError(f'expected an (H, W) or (H, W, C) image, got shape {img.shape}')
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        metainfo = {k: results[k] for k in self.meta_keys if k in results}
        data_sample = BaseDataElement(metainfo=metainfo)
        if results.get('gt_label') is not None:
            label = torch.as_tensor(np.asarray(results['gt_label']), dtype=torch.long)
            if label.numel() != 1:
                raise ValueError(f'expected one class index as gt_label, got {label.tolist()}')
            data_sample.gt_label = label.reshape(1)
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
