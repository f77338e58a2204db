"""Time LD's region computation (main region + VLR) against the number of gt boxes.

    python tools/analysis_tools/bench_ld_regions.py [--boxes 4 30 100] [--batch 16]
        [--size 96] [--repeats 20]

LD's entry in ``benchmark.py`` grows with the boxes per image (scaling table of
docs/benchmark.md). This isolates the part that depends on the boxes:
:func:`kd.losses.detection.ld.ld_regions_batch`, the ATSS-style assignment that
defines LD's regions, on the anchors of ``LDLoss``'s default generator (the GFL
head's: octave scale 8, strides 8-128) for a ``--size`` px canvas and random boxes.
Its tensors are ``(N, K, G)`` (images x anchors x boxes), so the time grows
linearly in the boxes; the KL over the edge distributions is per anchor and
does not. Times are the process's CPU time (median of ``--repeats`` calls after
3 warm-up calls), one intra-op thread unless ``OMP_NUM_THREADS`` says otherwise.
"""
from __future__ import annotations

import argparse
import time

import torch


def anchors_for(size: int) -> tuple[torch.Tensor, list[int]]:
    """All anchors of LDLoss's default generator for a ``size`` x ``size`` canvas."""
    from kd.losses.detection.ld import LDLoss
    from kd.utils import register_all_modules
    register_all_modules()
    gen = LDLoss().prior_generator
    sizes = [(-(-size // sh), -(-size // sw)) for sh, sw in gen.strides]   # ceil, as FPN
    mlvl = gen.grid_priors(sizes, device='cpu')
    return torch.cat(mlvl).float(), [a.shape[0] for a in mlvl]


def time_regions(boxes: int, batch: int = 16, size: int = 96, repeats: int = 20,
                 seed: int = 0) -> dict:
    """``{'boxes', 'anchors', 'elements', 'ms'}``: median CPU ms of one region computation."""
    from kd.losses.detection.ld import ld_regions_batch
    if boxes < 1 or batch < 1 or repeats < 1:
        raise ValueError(f'boxes, batch and repeats must be >= 1, got {boxes}, {batch}, '
                         f'{repeats}')
    anchors, counts = anchors_for(size)
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(batch, boxes, 2, generator=gen) * (size * 0.8)
    wh = torch.rand(batch, boxes, 2, generator=gen) * (size * 0.2) + 4
    gts = torch.cat([xy, xy + wh], -1)
    mask = torch.ones(batch, boxes, dtype=torch.bool)
    valid = torch.ones(batch, anchors.shape[0], dtype=torch.bool)
    for _ in range(3):
        ld_regions_batch(anchors, counts, gts, mask, valid)
    times = []
    for _ in range(repeats):
        start = time.process_time()
        ld_regions_batch(anchors, counts, gts, mask, valid)
        times.append(time.process_time() - start)
    times.sort()
    return dict(boxes=boxes, anchors=anchors.shape[0], elements=batch * anchors.shape[0] * boxes,
                ms=1000 * times[len(times) // 2])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--boxes', type=int, nargs='+', default=[4, 30, 100])
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--size', type=int, default=96, help='canvas side in px')
    parser.add_argument('--repeats', type=int, default=20)
    args = parser.parse_args(argv)
    print('| boxes per image | anchors per image | (N, K, G) elements | regions ms (CPU) |')
    print('|---|---|---|---|')
    for k in args.boxes:
        r = time_regions(k, args.batch, args.size, args.repeats)
        print(f'| {r["boxes"]} | {r["anchors"]} | {r["elements"]} | {r["ms"]:.2f} |', flush=True)


if __name__ == '__main__':
    main()
