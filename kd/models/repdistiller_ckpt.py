"""Convert RepDistiller ``cifar_teachers`` state dicts into kd's CIFAR classifiers.

RepDistiller (HobbitLong/RepDistiller, ``train_teacher.py``) and mdistiller's
``cifar_teachers.tar`` store ``<arch>_vanilla/ckpt_epoch_240.pth`` as
``{'epoch': ..., 'model': state_dict, ...}``; the key names are those of
RepDistiller's ``models/``:

* ResNet (``resnet8`` ... ``resnet110``, ``resnet8x4``, ``resnet32x4``): ``conv1``,
  ``bn1``, ``layer{1,2,3}.<i>.{conv1,bn1,conv2,bn2,downsample.0,downsample.1}``, ``fc``
  -> kd's ``backbone.<same>`` and ``head.fc``;
* WRN (``wrn_16_1`` ... ``wrn_40_2``): ``conv1``, ``block{k}.layer.<i>.{bn1,conv1,bn2,conv2,
  convShortcut}``, the final ``bn1``, ``fc`` -> ``backbone.layer{k}.<i>.{...,shortcut}``,
  ``backbone.norm_out``, ``head.fc``;
* VGG with BN (``vgg8`` ... ``vgg19``): ``block{0..4}.<j>`` (conv, BN, ReLU, ...),
  ``classifier`` -> ``backbone.layer{1..5}.<j>``, ``head.fc``.

MobileNetV2 and ShuffleNet teachers are not converted (refused with that message).
A ``module.`` prefix (``DataParallel``) is stripped.
"""
from __future__ import annotations

import os.path as osp
import re
from collections import OrderedDict
from typing import Any, Mapping

FAMILIES = ('resnet', 'wrn', 'vgg')


def arch_family(arch: str) -> str:
    """``'resnet'``, ``'wrn'`` or ``'vgg'`` for a RepDistiller architecture name."""
    for family in FAMILIES:
        if arch.startswith(family) and not arch.startswith('resnet50'):
            return family
    raise ValueError(f'RepDistiller architecture {arch!r} is not converted (supported: '
                     'resnet8..110, resnet8x4, resnet32x4, wrn_*, vgg*); MobileNetV2 / '
                     'ShuffleNet / ResNet50 teachers need their own key mapping')


def arch_from_path(path: str) -> str:
    """The architecture named by a ``<arch>_vanilla/ckpt_epoch_240.pth`` path (RepDistiller's)."""
    folder = osp.basename(osp.dirname(osp.abspath(path)))
    parts = folder.split('_')
    if parts[0] == 'wrn' and len(parts) >= 3:
        return '_'.join(parts[:3])
    return parts[0]


def _rename(key: str, family: str) -> str:
    if key.startswith('fc.') and family in ('resnet', 'wrn'):
        return 'head.' + key
    if key.startswith('classifier.') and family == 'vgg':
        return 'head.fc.' + key[len('classifier.'):]
    if family == 'wrn':
        if key.startswith('bn1.'):
            return 'backbone.norm_out.' + key[len('bn1.'):]
        m = re.match(r'block(\d)\.layer\.(\d+)\.(.*)$', key)
        if m:
            rest = m.group(3).replace('convShortcut', 'shortcut')
            return f'backbone.layer{m.group(1)}.{m.group(2)}.{rest}'
    if family == 'vgg':
        m = re.match(r'block(\d)\.(.*)$', key)
        if m:
            return f'backbone.layer{int(m.group(1)) + 1}.{m.group(2)}'
    return 'backbone.' + key


def convert_repdistiller_state_dict(checkpoint: Mapping[str, Any], arch: str) -> OrderedDict:
    """kd ``ImageClassifier`` state dict from a RepDistiller checkpoint or state dict.

    Args:
        checkpoint: ``{'model': state_dict, ...}`` or the state dict itself.
        arch: RepDistiller's architecture name (``resnet32x4``, ``wrn_40_2``, ``vgg13``, ...).
    """
    family = arch_family(arch)
    state = checkpoint.get('model', checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping) or not state:
        raise ValueError('expected a RepDistiller checkpoint {"model": state_dict, ...} or a state '
                         'dict')
    out = OrderedDict()
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        out[_rename(key, family)] = value
    return out
