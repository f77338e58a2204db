"""Official ``rtdetr_pytorch`` checkpoints -> the layout of :class:`kd.models.rtdetr.RTDETR`.

The official model (``lyuwenyu/RT-DETR``, ``rtdetr_pytorch/src``) has three parts:
``backbone`` (``PResNet``), ``encoder`` (``HybridEncoder``) and ``decoder``
(``RTDETRTransformer``: input projection, query selection, decoder layers, heads,
denoising embedding). They map to ``backbone`` (``RTDETRResNetV1d``), ``neck``
(``RTDETRHybridEncoder``), and the detector's ``input_proj``, ``enc_output``,
``decoder``, ``bbox_head`` and ``dn_query_generator``. Every tensor keeps its shape
except the denoising class embedding, whose last row (the all-zero padding class) is
dropped. Frozen BN layers of the official R50 carry no ``num_batches_tracked``; it is
added (0). Unknown keys raise, naming them.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Mapping

import torch
from torch import Tensor

# (pattern, replacement) per official part, tried in order; the first match wins.
_BACKBONE = [
    (r'conv1\.conv1_(\d)\.conv\.(.+)', lambda m: f'stem.{3 * (int(m[1]) - 1)}.{m[2]}'),
    (r'conv1\.conv1_(\d)\.norm\.(.+)', lambda m: f'stem.{3 * (int(m[1]) - 1) + 1}.{m[2]}'),
    (r'res_layers\.(\d+)\.blocks\.(\d+)\.branch2([abc])\.conv\.(.+)',
     lambda m: f'layer{int(m[1]) + 1}.{m[2]}.conv{"abc".index(m[3]) + 1}.{m[4]}'),
    (r'res_layers\.(\d+)\.blocks\.(\d+)\.branch2([abc])\.norm\.(.+)',
     lambda m: f'layer{int(m[1]) + 1}.{m[2]}.bn{"abc".index(m[3]) + 1}.{m[4]}'),
    # shortcut after an average pool (stride-2 stages of variant d)
    (r'res_layers\.(\d+)\.blocks\.(\d+)\.short\.conv\.conv\.(.+)',
     lambda m: f'layer{int(m[1]) + 1}.{m[2]}.downsample.1.{m[3]}'),
    (r'res_layers\.(\d+)\.blocks\.(\d+)\.short\.conv\.norm\.(.+)',
     lambda m: f'layer{int(m[1]) + 1}.{m[2]}.downsample.2.{m[3]}'),
    # plain 1x1 projection (first stage); index 0 of mmdet's shortcut is a stride-1 pool
    (r'res_layers\.(\d+)\.blocks\.(\d+)\.short\.conv\.(weight|bias)',
     lambda m: f'layer{int(m[1]) + 1}.{m[2]}.downsample.1.{m[3]}'),
    (r'res_layers\.(\d+)\.blocks\.(\d+)\.short\.norm\.(.+)',
     lambda m: f'layer{int(m[1]) + 1}.{m[2]}.downsample.2.{m[3]}'),
]
_TRANSFORMER_LAYER = [
    (r'self_attn\.(in_proj_weight|in_proj_bias|out_proj\..+)', r'self_attn.attn.\1'),
    (r'cross_attn\.(.+)', r'cross_attn.\1'),
    (r'linear1\.(.+)', r'ffn.layers.0.0.\1'),
    (r'linear2\.(.+)', r'ffn.layers.1.\1'),
    (r'norm([123])\.(.+)', lambda m: f'norms.{int(m[1]) - 1}.{m[2]}'),
]
_ENCODER = [
    (r'input_proj\.(\d+)\.0\.(.+)', r'input_proj.\1.conv.\2'),
    (r'input_proj\.(\d+)\.1\.(.+)', r'input_proj.\1.bn.\2'),
    (r'encoder\.(\d+)\.layers\.(\d+)\.(.+)', ('encoder.{0}.{1}.', _TRANSFORMER_LAYER)),
    # ConvNormLayer -> mmcv ConvModule: conv.* stays, norm.* -> bn.*
    (r'((?:lateral_convs|downsample_convs|fpn_blocks|pan_blocks)\..*)\.norm\.(.+)', r'\1.bn.\2'),
    (r'((?:lateral_convs|downsample_convs|fpn_blocks|pan_blocks)\..*\.conv\..+)', r'\1'),
]
_DECODER = [
    (r'input_proj\.(\d+)\.conv\.(.+)', r'input_proj.\1.conv.\2'),
    (r'input_proj\.(\d+)\.norm\.(.+)', r'input_proj.\1.bn.\2'),
    (r'decoder\.layers\.(\d+)\.(.+)', ('decoder.layers.{0}.', _TRANSFORMER_LAYER)),
    (r'query_pos_head\.(.+)', r'decoder.query_pos_head.\1'),
    (r'enc_output\.(.+)', r'enc_output.\1'),
    (r'enc_score_head\.(.+)', r'bbox_head.enc_cls_branch.\1'),
    (r'enc_bbox_head\.(.+)', r'bbox_head.enc_reg_branch.\1'),
    (r'dec_score_head\.(.+)', r'bbox_head.cls_branches.\1'),
    (r'dec_bbox_head\.(.+)', r'bbox_head.reg_branches.\1'),
    (r'denoising_class_embed\.weight', 'dn_query_generator.label_embedding.weight'),
]
_PARTS = {'backbone.': ('backbone.', _BACKBONE), 'encoder.': ('neck.', _ENCODER),
          'decoder.': ('', _DECODER)}


def _rename(key: str, rules) -> str | None:
    for pattern, repl in rules:
        m = re.fullmatch(pattern, key)
        if m is None:
            continue
        if isinstance(repl, tuple):     # a nested rule set for the rest of the key
            prefix, inner = repl
            rest = _rename(m.groups()[-1], inner)
            return None if rest is None else prefix.format(*m.groups()[:-1]) + rest
        return repl(m) if callable(repl) else m.expand(repl)
    return None


def official_state_dict(checkpoint: Mapping) -> Mapping[str, Tensor]:
    """The model weights of an official checkpoint: its EMA weights when saved, else
    ``model`` (the official ``solver`` saves ``{'model': ..., 'ema': {'module': ...}}``),
    else the mapping itself."""
    if 'ema' in checkpoint and isinstance(checkpoint['ema'], Mapping):
        ema = checkpoint['ema']
        return ema.get('module', ema)
    for key in ('model', 'state_dict', 'module'):
        if key in checkpoint and isinstance(checkpoint[key], Mapping):
            return checkpoint[key]
    return checkpoint


def convert_official_rtdetr(state: Mapping[str, Tensor]) -> OrderedDict:
    """Rename an official ``RTDETR`` state dict to :class:`~kd.models.rtdetr.RTDETR` keys.

    A backbone-only state dict (the official ``PResNet`` ImageNet weights, keys
    ``conv1.*``/``res_layers.*``) is converted to ``RTDETRResNetV1d`` keys without a
    prefix, for ``backbone.init_cfg``.

    Raises:
        KeyError: keys that match no rule (listed).
    """
    backbone_only = all(k.startswith(('conv1.', 'res_layers.')) for k in state)
    out, unknown = OrderedDict(), []
    for key, value in state.items():
        if backbone_only:
            new = _rename(key, _BACKBONE)
        else:
            part = next((p for p in _PARTS if key.startswith(p)), None)
            new = None
            if part is not None:
                prefix, rules = _PARTS[part]
                rest = _rename(key[len(part):], rules)
                new = None if rest is None else prefix + rest
        if new is None:
            unknown.append(key)
            continue
        if new.endswith('label_embedding.weight'):
            value = value[:-1]          # the padding class (index num_classes)
        out[new] = value
    if unknown:
        raise KeyError(f'{len(unknown)} keys of the official checkpoint match no rule: '
                       f'{unknown[:10]}')
    for key in list(out):
        if key.endswith('.running_var'):
            tracked = key[:-len('running_var')] + 'num_batches_tracked'
            out.setdefault(tracked, torch.tensor(0, dtype=torch.long))
    return out
