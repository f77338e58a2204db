"""Prune the inner channels of every residual block of a kd CIFAR ResNet; save the whole module.

    python tools/misc/prune_resnet_blocks.py CONFIG CHECKPOINT OUT.pth [--keep 0.5]

For each ``BasicBlock`` the output channels of ``conv1`` (and so ``bn1`` and
the input channels of ``conv2``) with the smallest L1 norm of their ``conv1``
filters are removed, keeping ``ceil(keep * C)`` of them; block inputs and
outputs keep their width, so the residual connections stay valid. The result
is a network no config describes (every block has its own inner width). It is
saved with ``torch.save(model)`` (a pickled module) for
``student=dict(model_file=OUT.pth, allow_unsafe_unpickle=True)`` in a
distillation recipe (see configs/kd/kd_pruned_resnet20_digits_cls.py).
"""
from __future__ import annotations

import argparse
import math
import os
import os.path as osp

import torch
from torch import nn


def _select(module: nn.Module, index: torch.Tensor, dim: int) -> None:
    for name in ('weight', 'bias', 'running_mean', 'running_var'):
        tensor = getattr(module, name, None)
        if tensor is None:
            continue
        new = tensor.data.index_select(dim, index).clone()
        if isinstance(tensor, nn.Parameter):
            setattr(module, name, nn.Parameter(new, requires_grad=tensor.requires_grad))
        else:
            setattr(module, name, new)


@torch.no_grad()
def prune_block(block: nn.Module, keep: float) -> tuple[int, int]:
    """Keep the ``keep`` share of ``block.conv1``'s filters with the largest L1 norm.

    Returns ``(channels before, channels after)``.
    """
    conv1, bn1, conv2 = block.conv1, block.bn1, block.conv2
    channels = conv1.out_channels
    kept = max(1, math.ceil(keep * channels))
    scores = conv1.weight.abs().flatten(1).sum(1)
    index = scores.topk(kept).indices.sort().values
    _select(conv1, index, 0)
    conv1.out_channels = kept
    _select(bn1, index, 0)
    bn1.num_features = kept
    conv2.weight = nn.Parameter(conv2.weight.data.index_select(1, index).clone())
    conv2.in_channels = kept
    return channels, kept


def prune_model(model: nn.Module, keep: float) -> list[tuple[str, int, int]]:
    """Prune every block that has ``conv1``/``bn1``/``conv2``; return what changed."""
    changes = []
    for name, module in model.named_modules():
        if all(hasattr(module, a) for a in ('conv1', 'bn1', 'conv2', 'bn2')) and \
                isinstance(module.conv1, nn.Conv2d):
            before, after = prune_block(module, keep)
            changes.append((name, before, after))
    if not changes:
        raise ValueError('no residual block with conv1/bn1/conv2/bn2 found to prune')
    return changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--keep', type=float, default=0.5,
                        help='share of inner channels kept in every block (default 0.5)')
    args = parser.parse_args()
    if not 0 < args.keep <= 1:
        raise SystemExit(f'--keep must be in (0, 1], got {args.keep}')

    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    import kd  # noqa: F401
    from kd.registry import MODELS
    from kd.utils import install_safe_globals, register_all_modules
    register_all_modules()
    install_safe_globals()
    model = MODELS.build(Config.fromfile(args.config).model)
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    n_before = sum(p.numel() for p in model.parameters())
    changes = prune_model(model, args.keep)
    n_after = sum(p.numel() for p in model.parameters())
    for name, before, after in changes:
        print(f'{name}: {before} -> {after} inner channels')
    print(f'parameters: {n_before / 1e3:.1f} k -> {n_after / 1e3:.1f} k')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(model, args.out)
    print(f'saved the pruned module to {args.out}')


if __name__ == '__main__':
    main()
