"""Data transforms for classification: augmentation and packing.

Transforms are plain callables on a results ``dict`` (MMEngine's ``Compose``
accepts them); each also exposes ``transform(results)`` like MMCV transforms.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from mmengine.structures import BaseDataElement

from kd.registry import TRANSFORMS


class _Transform:
    """Base of the ``kd`` transforms: ``__call__`` delegates to ``transform``."""

    #: draws random numbers (a teacher output cache refuses such training pipelines)
    is_random = False

    def transform(self, results: dict) -> dict | None:
        raise NotImplementedError

    def __call__(self, results: dict) -> dict | None:
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

    is_random = True

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
class RandomHorizontalFlip(_Transform):
    """Mirror the image left-right with probability ``prob`` (the CIFAR / ImageNet flip).

    Named apart from MMCV's ``RandomFlip``, which also flips boxes and masks and
    which detection pipelines use.  Randomness comes from ``np.random``.

    Args:
        prob: probability of flipping.
    """

    is_random = True

    def __init__(self, prob: float = 0.5) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        """Flip ``results['img']`` (``(H, W)`` or ``(H, W, C)``); sets ``flip``."""
        flip = self.prob > 0 and np.random.rand() < self.prob
        if flip:
            results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
        results['flip'] = bool(flip)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'


def _resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2
    if img.shape[1] == width and img.shape[0] == height:
        return img
    interp = cv2.INTER_AREA if width < img.shape[1] and height < img.shape[0] \
        else cv2.INTER_LINEAR
    out = cv2.resize(img, (width, height), interpolation=interp)
    return out[..., None] if img.ndim == 3 and out.ndim == 2 else out


@TRANSFORMS.register_module()
class ResizeShortEdge(_Transform):
    """Resize so that the shorter side is ``size`` pixels, keeping the aspect ratio
    (ImageNet testing: ``ResizeShortEdge(256)`` then ``CenterCropImage(224)``).

    Args:
        size: length of the shorter side after resizing.
    """

    def __init__(self, size: int = 256) -> None:
        if size <= 0:
            raise ValueError(f'size must be positive, got {size}')
        self.size = int(size)

    def transform(self, results: dict) -> dict:
        """Resize ``results['img']``; updates ``img_shape``."""
        img = results['img']
        h, w = img.shape[:2]
        scale = self.size / min(h, w)
        new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
        results['img'] = _resize(img, new_w, new_h)
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'


@TRANSFORMS.register_module()
class CenterCropImage(_Transform):
    """Crop the central ``size`` window (an int for a square, or ``(h, w)``).

    An image smaller than the window is padded with ``pad_val`` first.
    """

    def __init__(self, size, pad_val: float = 0) -> None:
        size = (size, size) if isinstance(size, int) else tuple(size)
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f'size must be a positive int or (h, w), got {size}')
        self.size = (int(size[0]), int(size[1]))
        self.pad_val = pad_val

    def transform(self, results: dict) -> dict:
        """Crop ``results['img']``; updates ``img_shape``."""
        img = results['img']
        th, tw = self.size
        h, w = img.shape[:2]
        if h < th or w < tw:
            ph, pw = max(th - h, 0), max(tw - w, 0)
            widths = [(ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)] + [(0, 0)] * (img.ndim - 2)
            img = np.pad(img, widths, mode='constant', constant_values=self.pad_val)
            h, w = img.shape[:2]
        top, left = (h - th) // 2, (w - tw) // 2
        results['img'] = np.ascontiguousarray(img[top:top + th, left:left + tw])
        results['img_shape'] = (th, tw)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'


@TRANSFORMS.register_module()
class RandomResizedCropImage(_Transform):
    """ImageNet training crop: a random window of ``scale`` of the area and aspect
    ratio in ``ratio`` (log-uniform), resized to ``size``; after 10 failed draws,
    the central crop of the closest valid ratio (as torchvision's RandomResizedCrop).

    Args:
        size: output size, an int for a square or ``(h, w)``.
        scale: range of the crop area as a fraction of the image area.
        ratio: range of the crop aspect ratio (width / height).
    """

    is_random = True

    def __init__(self, size=224, scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3 / 4, 4 / 3)) -> None:
        size = (size, size) if isinstance(size, int) else tuple(size)
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f'size must be a positive int or (h, w), got {size}')
        if not (0 < scale[0] <= scale[1] <= 1) or not (0 < ratio[0] <= ratio[1]):
            raise ValueError(f'invalid scale {scale} or ratio {ratio}')
        self.size = (int(size[0]), int(size[1]))
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)

    def _window(self, h: int, w: int) -> tuple:
        area = h * w
        log_ratio = np.log(self.ratio)
        for _ in range(10):
            target = area * np.random.uniform(*self.scale)
            aspect = float(np.exp(np.random.uniform(*log_ratio)))
            cw = int(round(np.sqrt(target * aspect)))
            ch = int(round(np.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return np.random.randint(0, h - ch + 1), np.random.randint(0, w - cw + 1), ch, cw
        in_ratio = w / h
        if in_ratio < self.ratio[0]:
            cw, ch = w, int(round(w / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            ch, cw = h, int(round(h * self.ratio[1]))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def transform(self, results: dict) -> dict:
        """Crop and resize ``results['img']``; updates ``img_shape``."""
        img = results['img']
        top, left, ch, cw = self._window(*img.shape[:2])
        crop = img[top:top + ch, left:left + cw]
        results['img'] = np.ascontiguousarray(_resize(crop, self.size[1], self.size[0]))
        results['img_shape'] = self.size
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, scale={self.scale}, '
                f'ratio={self.ratio})')


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
