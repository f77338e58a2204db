"""Convert an official RT-DETR checkpoint (``lyuwenyu/RT-DETR``, ``rtdetr_pytorch``) to kd.

    python tools/model_converters/rtdetr_to_kd.py rtdetr_r18vd_dec3_6x_coco_from_paddle.pth \
        checkpoints/rtdetr_r18vd_coco_kd.pth --config configs/rtdetr/rtdetr_r18vd_6x_coco.py

The EMA weights are taken when the checkpoint has them (as the official evaluation
does), else ``model``. A backbone-only checkpoint (the official ``PResNet`` ImageNet
weights, ``ResNet18_vd_pretrained_from_paddle.pth``) becomes ``RTDETRResNetV1d``
weights for ``model.backbone.init_cfg``. With ``--config`` the result is loaded
*strictly* into that model (or its backbone) first, so a wrong depth or width fails
here. Nothing is downloaded.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

import torch

from kd.models.rtdetr.official_ckpt import convert_official_rtdetr, official_state_dict


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official RT-DETR (or PResNet backbone) checkpoint')
    parser.add_argument('dst', help='kd checkpoint to write')
    parser.add_argument('--config', help='RT-DETR config to load the result into strictly')
    return parser.parse_args(argv)


def check_against_config(state: dict, config: str) -> None:
    """Load ``state`` strictly into the model of ``config`` (its backbone for backbone weights)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import kd.models.rtdetr  # noqa: F401  (registers RT-DETR in mmdet's scope)
    from kd.apis import load_config
    register_all_modules()
    model = MODELS.build(load_config(config).model)
    if not any(k.startswith('backbone.') for k in state):
        model = model.backbone
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [k for k, v in expected.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        raise SystemExit(f'the converted weights do not match {config}: missing '
                         f'{missing[:5]}, unexpected {unexpected[:5]}, mis-shaped {shapes[:5]}')
    model.load_state_dict(state, strict=True)


def main(argv=None) -> str:
    args = parse_args(argv)
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    state = convert_official_rtdetr(official_state_dict(checkpoint))
    if args.config:
        check_against_config(state, args.config)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    meta = dict(converted_from=osp.abspath(args.src), converter='rtdetr_to_kd')
    torch.save(dict(state_dict=state, meta=meta), args.dst)
    print(f'{args.src} ({len(state)} tensors) -> {args.dst}')
    return args.dst


if __name__ == '__main__':
    main()
