"""How many of a DETR-family teacher's queries pass each ``score_thr`` of DETRDistillLoss.

    OMP_NUM_THREADS=1 python tools/analysis_tools/detr_teacher_confidence.py \\
        configs/detr_kd/dino_teacher_digits.py work_dirs/dino_teacher_digits/iter_1500.pth \\
        [--batches 4] [--thresholds 0.1 0.2 0.3 0.4 0.5] [--topk K] [--split train]

``DETRDistillLoss`` distils only the teacher queries whose best class
probability is above ``score_thr`` (at most ``topk``). Too high a threshold
leaves images without targets, where every student query is pushed to
background; too low a threshold turns the teacher's duplicates and noise into
targets. This tool runs the teacher as the distiller does (eval mode, tensor
forward, last decoder layer) on ``--batches`` batches of the config's
dataloader and prints, per threshold, the mean number of queries above it per
image and the share of images with none, beside the mean number of ground-truth
boxes per image. Pick a threshold that gives about one target per object.
"""
from __future__ import annotations

import argparse
from typing import Optional

import torch


def count_targets(cls_scores: torch.Tensor, thresholds: list[float], use_sigmoid: bool = True,
                  topk: Optional[int] = None) -> dict[float, list[int]]:
    """Per threshold, the number of teacher queries per image that become targets.

    ``cls_scores``: ``(layers, N, queries, classes)`` logits of a DETR head. The
    targets are those ``DETRDistillLoss(score_thr=t, topk=topk,
    use_sigmoid=use_sigmoid)`` selects: its own probabilities (sigmoid, or
    softmax without the background column) of the last layer.
    """
    from kd.losses.detection.detr_kd import DETRDistillLoss
    counts = {}
    for t in thresholds:
        loss = DETRDistillLoss(score_thr=t, topk=topk, use_sigmoid=use_sigmoid)
        targets = loss.select_targets(loss._probs(cls_scores[-1].float()))
        counts[t] = [len(idx) for idx in targets]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the teacher detector config')
    parser.add_argument('checkpoint', help='the teacher checkpoint')
    parser.add_argument('--batches', type=int, default=4)
    parser.add_argument('--thresholds', type=float, nargs='+', default=[0.1, 0.2, 0.3, 0.4, 0.5])
    parser.add_argument('--topk', type=int, default=None,
                        help="the loss's topk (at most this many targets per image)")
    parser.add_argument('--split', choices=['train', 'val'], default='train',
                        help='which dataloader of the config to read (default: train, '
                        'where distillation happens)')
    args = parser.parse_args()

    from mmengine.runner import Runner, load_checkpoint

    from kd.apis import load_config
    from kd.utils import register_all_modules
    register_all_modules()
    cfg = load_config(args.config)
    loader_cfg = cfg[f'{args.split}_dataloader']
    loader_cfg.num_workers = 0
    loader_cfg.persistent_workers = False
    from kd.registry import MODELS
    detector = MODELS.build(cfg.model)
    if not hasattr(detector, 'forward_transformer'):
        raise SystemExit(f'{args.config} is not a DETR-family detector (no forward_transformer);'
                         ' this tool reads DETR/Deformable DETR/DINO heads.')
    load_checkpoint(detector, args.checkpoint, map_location='cpu')
    detector.eval()
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    use_sigmoid = detector.bbox_head.loss_cls.use_sigmoid
    counts: dict[float, list[int]] = {t: [] for t in args.thresholds}
    gts: list[int] = []
    with torch.no_grad():
        for i, batch in enumerate(loader):
            if i == args.batches:
                break
            data = detector.data_preprocessor(batch, False)
            cls_scores, _ = detector(data['inputs'], data['data_samples'], mode='tensor')
            for t, c in count_targets(cls_scores, args.thresholds, use_sigmoid, args.topk).items():
                counts[t] += c
            gts += [len(s.gt_instances) for s in data['data_samples']]
    n = len(gts)
    print(f'{n} {args.split} images, {sum(gts) / max(n, 1):.1f} ground-truth boxes per image')
    print('| threshold | targets per image | images without a target |')
    print('|---|---|---|')
    for t, c in counts.items():
        none = sum(1 for v in c if v == 0) / max(n, 1)
        print(f'| {t:g} | {sum(c) / max(n, 1):.1f} | {100 * none:.0f} % |')


if __name__ == '__main__':
    main()
