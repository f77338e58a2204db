"""Time FGD's foreground/background mask building: per-box loop vs the vectorised versions.

    OMP_NUM_THREADS=1 python tools/analysis_tools/bench_fgd_masks.py \\
        [--images 8] [--boxes 30 1000] [--feat 100 152] [--img 800 1216] [--repeats 5]

Three implementations build the same ``(N, H, W)`` masks from random boxes
(COCO-like sizes, log-uniform 8-400 px, in ``--img``-sized images):

* ``loop``: the authors' algorithm, one Python iteration per image and box
  (an in-place ``max`` on a slice of the mask), transcribed here;
* ``dense``: ``kd.losses.detection.fgd.fgd_masks(impl='dense')``, a padded
  ``(N, B, H, W)`` box-membership tensor reduced with ``amax`` over boxes;
* ``rows``: ``fgd_masks(impl='rows')`` (FGDLoss's default), the row spans of
  all boxes scattered into a reverse sparse table of power-of-two blocks.

The results are checked to be equal, then the median wall time of
``--repeats`` runs (after one warm-up) is printed, on the CPU with one thread
unless ``--device``/``--threads`` say otherwise.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from kd.losses.detection.fgd import fgd_masks


def loop_masks(boxes, img_shapes, h, w):
    """Per-image, per-box painting as in the authors' FeatureLoss.forward."""
    n = len(boxes)
    device = boxes[0].device
    fg = torch.zeros(n, h, w, device=device)
    bg = torch.ones(n, h, w, device=device)
    for i in range(n):
        img_h, img_w = img_shapes[i]
        b = boxes[i]
        wmin = torch.floor(b[:, 0] / img_w * w).int()
        wmax = torch.ceil(b[:, 2] / img_w * w).int()
        hmin = torch.floor(b[:, 1] / img_h * h).int()
        hmax = torch.ceil(b[:, 3] / img_h * h).int()
        area = 1.0 / (hmax + 1 - hmin) / (wmax + 1 - wmin)
        for j in range(len(b)):
            sl = (slice(int(hmin[j]), int(hmax[j]) + 1), slice(int(wmin[j]), int(wmax[j]) + 1))
            fg[i][sl] = torch.maximum(fg[i][sl], area[j])
        bg[i] = torch.where(fg[i] > 0, 0, 1)
        if torch.sum(bg[i]):
            bg[i] /= torch.sum(bg[i])
    return fg, bg


def random_boxes(n, k, img_hw, seed, device):
    g = torch.Generator().manual_seed(seed)
    ih, iw = img_hw
    out = []
    for _ in range(n):
        size = torch.exp(torch.empty(k, 2).uniform_(2.08, 5.99, generator=g))  # 8-400 px
        x1 = torch.rand(k, generator=g) * (iw - 1)
        y1 = torch.rand(k, generator=g) * (ih - 1)
        x2 = torch.minimum(x1 + size[:, 0], torch.tensor(float(iw)))
        y2 = torch.minimum(y1 + size[:, 1], torch.tensor(float(ih)))
        out.append(torch.stack([x1, y1, x2, y2], 1).to(device))
    return out


def timed(fn, repeats, device):
    def once():
        if device.type == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = fn()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        return time.perf_counter() - start, result

    once()  # warm-up
    times, result = [], None
    for _ in range(repeats):
        t, result = once()
        times.append(t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=8)
    parser.add_argument('--boxes', type=int, nargs='+', default=[30, 1000])
    parser.add_argument('--feat', type=int, nargs=2, default=[100, 152], metavar=('H', 'W'))
    parser.add_argument('--img', type=int, nargs=2, default=[800, 1216], metavar=('H', 'W'))
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    h, w = args.feat
    shapes = [tuple(args.img)] * args.images
    print(f'{args.images} images {args.img[0]}x{args.img[1]}, feature {h}x{w}, '
          f'{args.device}, {torch.get_num_threads()} thread(s), median of {args.repeats}')
    print('| boxes / image | loop (ms) | dense (ms) | rows (ms) | loop / rows |')
    print('|---|---|---|---|---|')
    for k in args.boxes:
        boxes = random_boxes(args.images, k, args.img, seed=k, device=device)
        t_loop, ref = timed(lambda: loop_masks(boxes, shapes, h, w), args.repeats, device)
        t_dense, dense = timed(lambda: fgd_masks(boxes, shapes, (h, w), impl='dense'),
                               args.repeats, device)
        t_rows, rows = timed(lambda: fgd_masks(boxes, shapes, (h, w), impl='rows'),
                             args.repeats, device)
        for name, got in (('dense', dense), ('rows', rows)):
            for a, b in zip(got, ref):
                if not torch.allclose(a, b, rtol=0, atol=1e-7):
                    raise SystemExit(f'{name} masks differ from the loop for {k} boxes')
        print(f'| {k} | {t_loop * 1e3:.1f} | {t_dense * 1e3:.1f} | {t_rows * 1e3:.1f} | '
              f'{t_loop / t_rows:.1f}x |')


if __name__ == '__main__':
    main()
