"""Synthetic-but-real digit data sets built from scikit-learn's bundled scans.

Two data sets are generated from the 1797 real 8x8 handwritten digit scans of
:func:`sklearn.datasets.load_digits` (no download needed):

* **DigitsDet** (:func:`build_digits_det`): COCO-format detection. Every
  canvas holds 2-6 upscaled digits of varied size on a cluttered background
  (smooth noise, gradients, line/arc strokes and unlabelled *fragments* of
  other digits, so a detector must tell whole digits from pieces).
* **DigitsCls** (:func:`build_digits_cls`): classification. Every image holds
  one scaled, shifted, slightly rotated digit on a cluttered background.

The source scans are split once, deterministically and stratified by class,
into a train pool and a val pool (:func:`split_source_digits`), so train and
val samples never share a source digit. Generation is fully deterministic
given ``seed``: every sample draws from its own
``numpy.random.default_rng([seed, split, kind, index])`` stream, and all files
(PNG, json, npz) are written without timestamps, so the same seed gives
byte-identical files.

:func:`ensure_digits_data` builds missing data sets under a data root. It is
safe to call from several processes at once (e.g. distributed ranks): one
process builds into a temporary directory under an ``fcntl`` lock and renames
it into place; the others wait and use the finished directory.

Only numpy and PIL are needed (plus scikit-learn for the source scans).
"""
from __future__ import annotations

import functools
import glob
import io
import json
import os
import shutil
import time
import uuid
import zipfile
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw

try:  # POSIX only; without it the build is still atomic, just not exclusive.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    'CLASSES', 'GENERATOR_VERSION', 'DET_DIRNAME', 'CLS_DIRNAME', 'DET_DEFAULTS',
    'CLS_DEFAULTS', 'load_source_digits', 'split_source_digits', 'build_digits_det',
    'build_digits_cls', 'ensure_digits_data', 'is_digits_data_ready', 'missing_data_error',
]

#: Version of the generator; bump it whenever the produced data changes.
GENERATOR_VERSION = '1.0.0'
#: Class names: the digit characters.
CLASSES: tuple[str, ...] = tuple(str(i) for i in range(10))
#: Directory names under a data root.
DET_DIRNAME = 'digits_det'
CLS_DIRNAME = 'digits_cls'
#: Default sizes of the two data sets.
DET_DEFAULTS: dict[str, int] = dict(num_train=3000, num_val=500, canvas_size=96)
CLS_DEFAULTS: dict[str, int] = dict(num_train=6000, num_val=1000, image_size=32)

# The train/val split of the source scans is fixed (independent of ``seed``).
_SPLIT_SEED = 20240817
_VAL_FRACTION = 0.15
_SPLIT_CODE = {'train': 0, 'val': 1}
_KIND_CODE = {'det': 1, 'cls': 2}
# A source pixel counts as ink above this (normalised, stretched) intensity.
_INK_THRESHOLD = 0.2


# --------------------------------------------------------------------------
# source digits
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def load_source_digits() -> tuple[np.ndarray, np.ndarray]:
    """Load the 1797 source scans.

    Returns:
        tuple: ``images`` float32 (1797, 8, 8) scaled to [0, 1] and ``labels``
        int64 (1797,). Both arrays are read-only.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.ascontiguousarray(digits.images, dtype=np.float32) / 16.0
    labels = np.asarray(digits.target, dtype=np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@functools.lru_cache(maxsize=1)
def _split_cached() -> tuple[np.ndarray, np.ndarray]:
    _, labels = load_source_digits()
    rng = np.random.default_rng(_SPLIT_SEED)
    train: list[np.ndarray] = []
    val: list[np.ndarray] = []
    for cls in range(len(CLASSES)):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_val = int(round(len(idx) * _VAL_FRACTION))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    train_idx = np.sort(np.concatenate(train)).astype(np.int64)
    val_idx = np.sort(np.concatenate(val)).astype(np.int64)
    train_idx.setflags(write=False)
    val_idx.setflags(write=False)
    return train_idx, val_idx


def split_source_digits() -> dict[str, np.ndarray]:
    """Return the fixed, class-stratified split of the source scans.

    About 85% of every class goes to the train pool and 15% to the val pool.
    The split does not depend on the generation seed.

    Returns:
        dict: ``{'train': indices, 'val': indices}``, sorted, disjoint int64
        index arrays into :func:`load_source_digits`.
    """
    train_idx, val_idx = _split_cached()
    return {'train': train_idx, 'val': val_idx}


def _sample_rng(seed: int, kind: str, split: str, index: int) -> np.random.Generator:
    """Independent random stream of one sample (does not depend on counts)."""
    return np.random.default_rng([int(seed), _KIND_CODE[kind], _SPLIT_CODE[split], int(index)])


# --------------------------------------------------------------------------
# rendering helpers
# --------------------------------------------------------------------------
def _resize(arr: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a 2-D float array."""
    img = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode='F')
    return np.asarray(img.resize((int(width), int(height)), Image.BILINEAR), dtype=np.float32)


def _glyph(scan: np.ndarray, width: int, height: int, angle: float = 0.0) -> np.ndarray:
    """Upscale an 8x8 scan into an alpha mask in [0, 1] of ``(height, width)``.

    The bilinear result is contrast-stretched so strokes get crisp edges.
    A non-zero ``angle`` (degrees) rotates the mask, growing the canvas.
    """
    alpha = _resize(scan, width, height)
    alpha = np.clip((alpha - 0.12) / 0.55, 0.0, 1.0)
    if angle:
        img = Image.fromarray(alpha, mode='F')
        alpha = np.asarray(img.rotate(angle, resample=Image.BILINEAR, expand=True),
                           dtype=np.float32)
        alpha = np.clip(alpha, 0.0, 1.0)
    return alpha


def _ink_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """Tight box ``(x0, y0, x1, y1)`` (exclusive ends) of the ink of ``alpha``."""
    mask = alpha > _INK_THRESHOLD
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _luminance(rgb: np.ndarray) -> float:
    """Mean luminance of an RGB colour ``(3,)`` or region ``(..., 3)``."""
    if rgb.ndim == 1:
        return float(rgb @ _LUMA)
    if rgb.size == 0:
        return 0.5
    return float(rgb.reshape(-1, 3).mean(axis=0) @ _LUMA)


def _pick_colour(rng: np.random.Generator, bg_lum: float, min_contrast: float) -> np.ndarray:
    """Random RGB colour whose luminance differs from ``bg_lum`` enough."""
    for _ in range(24):
        colour = rng.uniform(0.0, 1.0, 3).astype(np.float32)
        if abs(_luminance(colour) - bg_lum) >= min_contrast:
            return colour
    grey = 0.95 if bg_lum < 0.5 else 0.05
    return np.full(3, grey, dtype=np.float32)


def _composite(canvas: np.ndarray, alpha: np.ndarray, colour: np.ndarray, x: int, y: int,
               opacity: float = 1.0) -> None:
    """Blend ``colour`` with mask ``alpha`` into ``canvas`` at ``(x, y)``, clipped."""
    height, width = canvas.shape[:2]
    ah, aw = alpha.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + aw, width), min(y + ah, height)
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x, None] * opacity
    region = canvas[y0:y1, x0:x1]
    region *= 1.0 - a
    region += a * colour


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth coloured noise plus a linear gradient, float32 (H, W, 3) in [0, 1]."""
    base = rng.uniform(0.1, 0.9, 3).astype(np.float32)
    grid = int(rng.integers(3, 9))
    amp = float(rng.uniform(0.08, 0.3))
    noise = rng.uniform(-amp, amp, (3, grid, grid)).astype(np.float32)
    smooth = np.stack([_resize(noise[c], width, height) for c in range(3)], axis=-1)
    theta = rng.uniform(0.0, 2.0 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(theta) * xs / width + np.sin(theta) * ys / height)[..., None]
    slope = rng.uniform(-0.35, 0.35, 3).astype(np.float32)
    bg = base + smooth + ramp * slope
    return np.clip(bg, 0.0, 1.0).astype(np.float32)


def _add_strokes(rng: np.random.Generator, canvas: np.ndarray, num: int,
                 max_width: int) -> None:
    """Draw ``num`` random lines/arcs of random colour on ``canvas``."""
    height, width = canvas.shape[:2]
    for _ in range(num):
        mask = Image.new('L', (width, height), 0)
        draw = ImageDraw.Draw(mask)
        stroke = int(rng.integers(1, max_width + 1))
        if rng.random() < 0.7:
            pts = rng.uniform(-0.1, 1.1, 4) * np.array([width, height, width, height])
            draw.line([float(v) for v in pts], fill=255, width=stroke)
        else:
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            r = rng.uniform(0.08, 0.35) * min(width, height)
            start = rng.uniform(0, 360)
            end = start + rng.uniform(40, 200)
            draw.arc([cx - r, cy - r, cx + r, cy + r], start=float(start), end=float(end),
                     fill=255, width=stroke)
        alpha = np.asarray(mask, dtype=np.float32) / 255.0
        colour = _pick_colour(rng, _luminance(canvas), 0.15)
        _composite(canvas, alpha, colour, 0, 0, float(rng.uniform(0.4, 0.9)))


def _fragment(rng: np.random.Generator, scan: np.ndarray, size_range: tuple[float, float],
              max_fraction: float = 0.38) -> np.ndarray | None:
    """Alpha mask of a random piece of a digit, cropped to its ink.

    The piece is cut by a soft-edged disc (curved cut through the strokes) or
    by a rectangle, and keeps between 12% and ``max_fraction`` of the ink.
    """
    side = float(np.exp(rng.uniform(np.log(size_range[0]), np.log(size_range[1]))))
    side_px = max(int(round(side)), 8)
    alpha = _glyph(scan, side_px, side_px)
    box = _ink_box(alpha)
    if box is None:
        return None
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    total = float(alpha.sum())
    ys, xs = np.mgrid[0:side_px, 0:side_px].astype(np.float32)
    for _ in range(10):
        if rng.random() < 0.6:
            cx, cy = rng.uniform(bx0, bx1), rng.uniform(by0, by1)
            radius = rng.uniform(0.2, 0.45) * max(bw, bh)
            dist = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
            keep = np.clip((radius - dist) / 1.5 + 0.5, 0.0, 1.0)
        else:
            cw = max(int(bw * rng.uniform(0.3, 0.7)), 3)
            ch = max(int(bh * rng.uniform(0.3, 0.7)), 3)
            cx0 = bx0 + int(rng.integers(0, max(bw - cw, 0) + 1))
            cy0 = by0 + int(rng.integers(0, max(bh - ch, 0) + 1))
            keep = np.zeros_like(alpha)
            keep[cy0:cy0 + ch, cx0:cx0 + cw] = 1.0
        piece = alpha * keep
        if not 0.12 * total <= float(piece.sum()) <= max_fraction * total:
            continue
        ink = _ink_box(piece)
        if ink is None:
            continue
        x0, y0 = max(ink[0] - 1, 0), max(ink[1] - 1, 0)
        return np.ascontiguousarray(piece[y0:ink[3] + 1, x0:ink[2] + 1])
    return None


def _to_uint8(canvas: np.ndarray) -> np.ndarray:
    return np.clip(canvas * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``(x0, y0, x1, y1)`` box against ``(N, 4)`` boxes."""
    if boxes.size == 0:
        return np.zeros(0, dtype=np.float64)
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area + areas - inter)


def _covered(box: np.ndarray, boxes: np.ndarray) -> float:
    """Largest fraction of ``box`` covered by any of ``boxes``."""
    if boxes.size == 0:
        return 0.0
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    area = max((box[2] - box[0]) * (box[3] - box[1]), 1)
    return float((ix * iy).max() / area)


# --------------------------------------------------------------------------
# DigitsDet
# --------------------------------------------------------------------------
_DET_SIZE = (12.0, 44.0)       # side of the upscaled 8x8 scan, log-uniform
_DET_MAX_SIDE = 46.0          # longest side after the aspect jitter
_DET_MAX_IOU = 0.1


def _render_det_canvas(rng: np.random.Generator, pool: np.ndarray, images: np.ndarray,
                       labels: np.ndarray, size: int) -> tuple[np.ndarray, list[dict]]:
    """Render one detection canvas.

    Returns:
        tuple: uint8 RGB image ``(size, size, 3)`` and a list of objects with
        ``bbox`` (x0, y0, x1, y1, exclusive), ``label`` and ``source_idx``.
    """
    canvas = _background(rng, size, size)
    lo, hi = np.log(_DET_SIZE[0]), np.log(_DET_SIZE[1])

    # 1. choose digits and places (boxes are the tight ink boxes).
    digits: list[dict] = []
    boxes = np.zeros((0, 4), dtype=np.int64)
    for _ in range(int(rng.integers(2, 7))):
        src = int(pool[rng.integers(len(pool))])
        for _attempt in range(30):
            side = float(np.exp(rng.uniform(lo, hi)))
            aspect = float(np.exp(rng.uniform(-0.18, 0.18)))
            shrink = min(1.0, _DET_MAX_SIDE / (side * max(aspect, 1.0 / aspect)))
            gw = max(int(round(side * aspect * shrink)), 8)
            gh = max(int(round(side / aspect * shrink)), 8)
            if gw > size or gh > size:
                continue
            alpha = _glyph(images[src], gw, gh)
            ink = _ink_box(alpha)
            if ink is None:
                break
            x = int(rng.integers(0, size - gw + 1))
            y = int(rng.integers(0, size - gh + 1))
            box = np.array([ink[0] + x, ink[1] + y, ink[2] + x, ink[3] + y], dtype=np.int64)
            if (_iou(box, boxes) > _DET_MAX_IOU).any():
                continue
            digits.append(dict(alpha=alpha, x=x, y=y, bbox=box, src=src))
            boxes = np.concatenate([boxes, box[None]], axis=0)
            break

    # 2. clutter: fragments of other digits (mostly off the labelled digits) and strokes.
    for _ in range(int(rng.integers(1, 5))):
        frag = _fragment(rng, images[int(pool[rng.integers(len(pool))])], _DET_SIZE)
        if frag is None:
            continue
        fh, fw = frag.shape
        for _attempt in range(15):
            x = int(rng.integers(-fw // 4, size - fw + fw // 4 + 1))
            y = int(rng.integers(-fh // 4, size - fh + fh // 4 + 1))
            if _covered(np.array([x, y, x + fw, y + fh]), boxes) <= 0.15:
                colour = _pick_colour(rng, _luminance(canvas[max(y, 0):y + fh,
                                                             max(x, 0):x + fw]), 0.3)
                _composite(canvas, frag, colour, x, y, float(rng.uniform(0.7, 1.0)))
                break
    _add_strokes(rng, canvas, int(rng.integers(0, 4)), max_width=3)

    # 3. the labelled digits on top.
    objects = []
    for d in digits:
        h, w = d['alpha'].shape
        local = canvas[d['y']:d['y'] + h, d['x']:d['x'] + w]
        colour = _pick_colour(rng, _luminance(local), 0.3)
        _composite(canvas, d['alpha'], colour, d['x'], d['y'], float(rng.uniform(0.75, 1.0)))
        objects.append(dict(bbox=[int(v) for v in d['bbox']], label=int(labels[d['src']]),
                            source_idx=d['src']))

    # 4. sensor noise.
    canvas += rng.normal(0.0, rng.uniform(0.01, 0.05), canvas.shape).astype(np.float32)
    return _to_uint8(canvas), objects


def _coco_categories() -> list[dict]:
    return [dict(id=i + 1, name=name, supercategory='digit') for i, name in enumerate(CLASSES)]


def _write_json(path: str, obj: Any) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')


def _write_manifest(out_dir: str, kind: str, seed: int, params: dict, counts: dict) -> None:
    split = split_source_digits()
    _write_json(os.path.join(out_dir, 'manifest.json'), dict(
        name='DigitsDet' if kind == 'det' else 'DigitsCls', kind=kind,
        generator_version=GENERATOR_VERSION, seed=int(seed), params=params, counts=counts,
        source='sklearn.datasets.load_digits',
        source_pool_sizes=dict(train=int(len(split['train'])), val=int(len(split['val'])))))


def build_digits_det(out_dir: str, seed: int = 0, num_train: int = 3000, num_val: int = 500,
                     canvas_size: int = 96) -> dict:
    """Write the DigitsDet detection data set in COCO format.

    Layout::

        out_dir/annotations/{train,val}.json
        out_dir/{train,val}/000000.png ...
        out_dir/manifest.json

    Every annotation also carries ``source_idx`` (index of its source scan).

    Args:
        out_dir: Output directory (created; existing files are overwritten).
        seed: Generation seed; the same seed gives byte-identical files.
        num_train: Number of training canvases.
        num_val: Number of validation canvases.
        canvas_size: Side of the square RGB canvases in pixels.

    Returns:
        dict: ``out_dir``, ``seed`` and, per split, the number of images and
        boxes (``num_train_images``, ``num_train_boxes``, ...).
    """
    if canvas_size < 48:
        raise ValueError(f'canvas_size must be >= 48, got {canvas_size}')
    images, labels = load_source_digits()
    pools = split_source_digits()
    os.makedirs(os.path.join(out_dir, 'annotations'), exist_ok=True)
    counts: dict[str, int] = {}
    for split, num in (('train', num_train), ('val', num_val)):
        img_dir = os.path.join(out_dir, split)
        os.makedirs(img_dir, exist_ok=True)
        coco_images: list[dict] = []
        coco_anns: list[dict] = []
        for i in range(int(num)):
            rng = _sample_rng(seed, 'det', split, i)
            pixels, objects = _render_det_canvas(rng, pools[split], images, labels, canvas_size)
            file_name = f'{i:06d}.png'
            Image.fromarray(pixels, mode='RGB').save(os.path.join(img_dir, file_name))
            image_id = i + 1
            coco_images.append(dict(id=image_id, file_name=file_name, width=canvas_size,
                                    height=canvas_size))
            for obj in objects:
                x0, y0, x1, y1 = obj['bbox']
                coco_anns.append(dict(
                    id=len(coco_anns) + 1, image_id=image_id, category_id=obj['label'] + 1,
                    bbox=[x0, y0, x1 - x0, y1 - y0], area=(x1 - x0) * (y1 - y0), iscrowd=0,
                    source_idx=obj['source_idx']))
        _write_json(os.path.join(out_dir, 'annotations', f'{split}.json'), dict(
            info=dict(description=f'DigitsDet {split}', version=GENERATOR_VERSION,
                      seed=int(seed)),
            licenses=[], images=coco_images, annotations=coco_anns,
            categories=_coco_categories()))
        counts[f'num_{split}_images'] = len(coco_images)
        counts[f'num_{split}_boxes'] = len(coco_anns)
    params = dict(num_train=int(num_train), num_val=int(num_val), canvas_size=int(canvas_size))
    _write_manifest(out_dir, 'det', seed, params, counts)
    return dict(out_dir=out_dir, seed=int(seed), **counts)


# --------------------------------------------------------------------------
# DigitsCls
# --------------------------------------------------------------------------
def _render_cls_image(rng: np.random.Generator, src: int, pool: np.ndarray,
                      images: np.ndarray, size: int) -> np.ndarray:
    """Render one classification image holding source scan ``src``."""
    canvas = _background(rng, size, size)
    scale = size / 32.0
    # clutter: a fragment of another digit, sometimes two, and a stroke.
    for _ in range(1 + int(rng.random() < 0.35)):
        other = int(pool[rng.integers(len(pool))])
        if other == src:
            continue
        frag = _fragment(rng, images[other], (14 * scale, 30 * scale), max_fraction=0.4)
        if frag is None:
            continue
        fh, fw = frag.shape
        x = int(rng.integers(-fw // 3, size - fw + fw // 3 + 1))
        y = int(rng.integers(-fh // 3, size - fh + fh // 3 + 1))
        colour = _pick_colour(rng, _luminance(canvas), 0.25)
        _composite(canvas, frag, colour, x, y, float(rng.uniform(0.6, 1.0)))
    if rng.random() < 0.5:
        _add_strokes(rng, canvas, 1, max_width=max(int(round(2 * scale)), 1))

    # the digit: scaled, aspect-jittered, rotated, shifted (ink kept inside).
    side = rng.uniform(14.0, 30.0) * scale
    aspect = float(np.exp(rng.uniform(-0.15, 0.15)))
    gw = max(int(round(side * aspect)), 6)
    gh = max(int(round(side / aspect)), 6)
    alpha = _glyph(images[src], gw, gh, angle=float(rng.uniform(-15.0, 15.0)))
    ink = _ink_box(alpha)
    ah, aw = alpha.shape
    if ink is None:  # pragma: no cover - every scan has ink
        ink = (0, 0, aw, ah)
    ix0, iy0, ix1, iy1 = ink
    # x range keeping the ink inside: -ix0 <= x <= size - ix1 (center if it does not fit).
    x_lo, x_hi = -ix0, size - ix1
    y_lo, y_hi = -iy0, size - iy1
    x = int(rng.integers(x_lo, x_hi + 1)) if x_hi >= x_lo else (x_lo + x_hi) // 2
    y = int(rng.integers(y_lo, y_hi + 1)) if y_hi >= y_lo else (y_lo + y_hi) // 2
    region = canvas[max(y + iy0, 0):y + iy1, max(x + ix0, 0):x + ix1]
    colour = _pick_colour(rng, _luminance(region) if region.size else 0.5, 0.25)
    _composite(canvas, alpha, colour, x, y, float(rng.uniform(0.7, 1.0)))
    canvas += rng.normal(0.0, rng.uniform(0.01, 0.06), canvas.shape).astype(np.float32)
    return _to_uint8(canvas)


def _save_npz(path: str, **arrays: np.ndarray) -> None:
    """``np.savez_compressed`` without timestamps (byte-identical for equal arrays)."""
    with zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(f'{name}.npy', date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def build_digits_cls(out_dir: str, seed: int = 0, image_size: int = 32, num_train: int = 6000,
                     num_val: int = 1000) -> dict:
    """Write the DigitsCls classification data set.

    Layout::

        out_dir/{train,val}.npz   # images uint8 (N, S, S, 3), labels int64 (N,),
                                  # source_idx int64 (N,)
        out_dir/meta.json         # classes, seed, version
        out_dir/manifest.json

    Classes are balanced: sample ``i`` shows digit ``i % 10`` (then shuffled
    by the seed).

    Args:
        out_dir: Output directory (created; existing files are overwritten).
        seed: Generation seed; the same seed gives byte-identical files.
        image_size: Side of the square RGB images (the digit sizes scale with it).
        num_train: Number of training images.
        num_val: Number of validation images.

    Returns:
        dict: ``out_dir``, ``seed``, ``num_train`` and ``num_val``.
    """
    if image_size < 16:
        raise ValueError(f'image_size must be >= 16, got {image_size}')
    images, labels = load_source_digits()
    pools = split_source_digits()
    os.makedirs(out_dir, exist_ok=True)
    counts: dict[str, int] = {}
    for split, num in (('train', num_train), ('val', num_val)):
        pool = pools[split]
        by_class = [pool[labels[pool] == c] for c in range(len(CLASSES))]
        out_images = np.zeros((int(num), image_size, image_size, 3), dtype=np.uint8)
        out_labels = np.zeros(int(num), dtype=np.int64)
        out_src = np.zeros(int(num), dtype=np.int64)
        for i in range(int(num)):
            rng = _sample_rng(seed, 'cls', split, i)
            cls = i % len(CLASSES)
            src = int(by_class[cls][rng.integers(len(by_class[cls]))])
            out_images[i] = _render_cls_image(rng, src, pool, images, image_size)
            out_labels[i] = cls
            out_src[i] = src
        order = np.random.default_rng([int(seed), _KIND_CODE['cls'], _SPLIT_CODE[split],
                                       1 << 30]).permutation(int(num))
        _save_npz(os.path.join(out_dir, f'{split}.npz'), images=out_images[order],
                  labels=out_labels[order], source_idx=out_src[order])
        counts[f'num_{split}'] = int(num)
    _write_json(os.path.join(out_dir, 'meta.json'), dict(
        classes=list(CLASSES), seed=int(seed), version=GENERATOR_VERSION,
        image_size=int(image_size)))
    params = dict(num_train=int(num_train), num_val=int(num_val), image_size=int(image_size))
    _write_manifest(out_dir, 'cls', seed, params, counts)
    return dict(out_dir=out_dir, seed=int(seed), **counts)


# --------------------------------------------------------------------------
# ensure (safe for concurrent callers)
# --------------------------------------------------------------------------
_REQUIRED_FILES = {
    'det': ('annotations/train.json', 'annotations/val.json', 'train', 'val'),
    'cls': ('train.npz', 'val.npz', 'meta.json'),
}


def _read_manifest(out_dir: str) -> dict | None:
    try:
        with open(os.path.join(out_dir, 'manifest.json'), encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_digits_data_ready(out_dir: str, kind: str, seed: int = 0,
                         params: dict | None = None) -> bool:
    """Whether ``out_dir`` holds a complete data set of this generator version.

    Args:
        out_dir: The data set directory (``.../digits_det`` or ``.../digits_cls``).
        kind: ``'det'`` or ``'cls'``.
        seed: Required generation seed.
        params: Required build parameters (defaults of ``kind`` when None).
    """
    manifest = _read_manifest(out_dir)
    if manifest is None:
        return False
    wanted = dict(DET_DEFAULTS if kind == 'det' else CLS_DEFAULTS)
    wanted.update(params or {})
    return (manifest.get('kind') == kind
            and manifest.get('generator_version') == GENERATOR_VERSION
            and manifest.get('seed') == int(seed)
            and manifest.get('params') == {k: int(v) for k, v in wanted.items()}
            and all(os.path.exists(os.path.join(out_dir, p)) for p in _REQUIRED_FILES[kind]))


@contextmanager
def _exclusive_lock(path: str, announce: str) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``path`` (announce when waiting)."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    with open(path, 'a+') as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print(announce, flush=True)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _build_atomic(target: str, kind: str, seed: int, params: dict, force: bool,
                  verbose: bool) -> None:
    """Build one data set into a temp dir next to ``target`` and rename it in place."""
    parent = os.path.dirname(os.path.abspath(target))
    name = os.path.basename(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    lock = os.path.join(parent, f'.{name}.lock')
    log = print if verbose else (lambda *a, **k: None)
    with _exclusive_lock(lock, f'[kd.digits] waiting for another process building {target} ...'):
        if not force and is_digits_data_ready(target, kind, seed, params):
            return  # another process finished it while we waited
        for stale in sorted(glob.glob(os.path.join(parent, f'.{name}.tmp-*'))
                            + glob.glob(os.path.join(parent, f'.{name}.old-*'))):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed builder
        tmp = os.path.join(parent, f'.{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}')
        title = 'DigitsDet' if kind == 'det' else 'DigitsCls'
        sizes = ', '.join(f'{k}={v}' for k, v in params.items())
        log(f'[kd.digits] building {title} (seed={seed}, {sizes}) into {target} ...', flush=True)
        start = time.perf_counter()
        try:
            if kind == 'det':
                build_digits_det(tmp, seed=seed, **params)
            else:
                build_digits_cls(tmp, seed=seed, **params)
            if os.path.lexists(target):
                old = os.path.join(parent, f'.{name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}')
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
        log(f'[kd.digits] {title} ready in {target} ({time.perf_counter() - start:.1f} s)',
            flush=True)


def missing_data_error(what: str, path: str, data_dir: str, kind: str,
                       auto_prepare: bool) -> FileNotFoundError:
    """The error a data set raises when a generated file is missing.

    Args:
        what: What is missing, e.g. ``'DigitsDet annotation file'``.
        path: The missing file.
        data_dir: The data set directory (``data_root``).
        kind: ``'det'`` or ``'cls'``.
        auto_prepare: Whether automatic preparation was enabled.
    """
    dirname = DET_DIRNAME if kind == 'det' else CLS_DIRNAME
    why = ('auto_prepare=False' if not auto_prepare else
           f"data_root {data_dir!r} is not a directory named '{dirname}', so it is not "
           'prepared automatically')
    return FileNotFoundError(
        f'{what} not found: {path} ({why}). Generate it with '
        f'`python tools/data/prepare_digits.py --only {kind}` '
        '(options: --data-root DIR, --seed N, --force).')


def ensure_digits_data(data_root: str = 'data', which: str | Sequence[str] = ('det', 'cls'),
                       seed: int = 0, *, force: bool = False, det_kwargs: dict | None = None,
                       cls_kwargs: dict | None = None, verbose: bool = True) -> None:
    """Build ``data_root/digits_det`` and/or ``data_root/digits_cls`` if missing.

    A data set is rebuilt when it is missing, incomplete, or its manifest has
    another generator version, seed or build parameters. Safe for concurrent
    callers: only one process builds (``fcntl`` lock), into a temporary
    directory that is renamed into place; the others wait and reuse it.

    Args:
        data_root: Directory holding the data sets.
        which: ``'det'``, ``'cls'`` or a sequence of them.
        seed: Generation seed.
        force: Rebuild even if a matching data set exists.
        det_kwargs: Overrides of :data:`DET_DEFAULTS` (``num_train``, ...).
        cls_kwargs: Overrides of :data:`CLS_DEFAULTS`.
        verbose: Print one progress line per step.
    """
    kinds = (which,) if isinstance(which, str) else tuple(which)
    for kind in kinds:
        if kind not in ('det', 'cls'):
            raise ValueError(f"which must hold 'det' and/or 'cls', got {kind!r}")
    for kind in kinds:
        if kind == 'det':
            params = {**DET_DEFAULTS, **(det_kwargs or {})}
            target = os.path.join(data_root, DET_DIRNAME)
        else:
            params = {**CLS_DEFAULTS, **(cls_kwargs or {})}
            target = os.path.join(data_root, CLS_DIRNAME)
        params = {k: int(v) for k, v in params.items()}
        if not force and is_digits_data_ready(target, kind, seed, params):
            continue
        _build_atomic(target, kind, int(seed), params, force, verbose)
