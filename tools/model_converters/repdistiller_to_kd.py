"""Convert a RepDistiller / mdistiller CIFAR teacher (``cifar_teachers``) into a kd checkpoint.

    python tools/model_converters/repdistiller_to_kd.py \
        download_ckpts/cifar_teachers/resnet32x4_vanilla/ckpt_epoch_240.pth \
        work_dirs/resnet32x4_cifar100/epoch_240.pth \
        --config configs/baselines/resnet32x4_cifar100.py

The architecture comes from the folder name (``resnet32x4_vanilla``) unless
``--arch`` names it. With ``--config`` the converted weights are loaded
*strictly* into that kd model first, so a wrong architecture fails here and not
when a recipe loads the teacher. Nothing is downloaded.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

import torch

from kd.models.repdistiller_ckpt import arch_from_path, convert_repdistiller_state_dict


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='RepDistiller checkpoint (<arch>_vanilla/ckpt_epoch_240.pth)')
    parser.add_argument('dst', help='kd checkpoint to write')
    parser.add_argument('--arch', help='RepDistiller architecture name (default: from the folder)')
    parser.add_argument('--config', help='kd model config to load the result into strictly')
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    arch = args.arch or arch_from_path(args.src)
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    state = convert_repdistiller_state_dict(checkpoint, arch)
    if args.config:
        from kd.apis import load_config
        from kd.registry import MODELS
        from kd.utils import register_all_modules
        register_all_modules()
        model = MODELS.build(load_config(args.config).model)
        result = model.load_state_dict(state, strict=False)
        shapes = [k for k, v in model.state_dict().items()
                  if k in state and tuple(state[k].shape) != tuple(v.shape)]
        if result.missing_keys or result.unexpected_keys or shapes:
            raise SystemExit(f'{args.src} ({arch}) does not match {args.config}: missing '
                             f'{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}, '
                             f'mis-shaped {shapes[:5]}; check --arch')
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    meta = dict(converted_from=osp.abspath(args.src), repdistiller_arch=arch)
    if isinstance(checkpoint, dict) and 'epoch' in checkpoint:
        meta['epoch'] = int(checkpoint['epoch'])
    torch.save(dict(state_dict=state, meta=meta), args.dst)
    print(f'{args.src} ({arch}, {len(state)} tensors) -> {args.dst}')
    return args.dst


if __name__ == '__main__':
    main()
