"""The CIFAR architectures of the distillation benchmarks, by their RepDistiller names.

``CIFAR_ARCHS[name]`` is a backbone config; ``cifar_classifier(name, num_classes)``
is the matching ``ImageClassifier`` config (backbone + ``LinearClsHead``), e.g.
``MODELS.build(cifar_classifier('resnet32x4', 100))``.  The names and the
widths follow RepDistiller's ``models/__init__.py`` (``vgg*`` are the BN variants,
``MobileNetV2`` is its ``mobile_half``); parameter counts with a 100-class head
are checked in ``tests/test_models/test_cifar_backbones.py``.
"""
from __future__ import annotations

import copy

# name -> (backbone config, channels of the feature the head pools)
_ARCHS = {
    'resnet8': (dict(type='CifarResNet', depth=8), 64),
    'resnet14': (dict(type='CifarResNet', depth=14), 64),
    'resnet20': (dict(type='CifarResNet', depth=20), 64),
    'resnet32': (dict(type='CifarResNet', depth=32), 64),
    'resnet44': (dict(type='CifarResNet', depth=44), 64),
    'resnet56': (dict(type='CifarResNet', depth=56), 64),
    'resnet110': (dict(type='CifarResNet', depth=110), 64),
    'resnet8x4': (dict(type='CifarResNet', depth=8, stem_channels=32, base_channels=64), 256),
    'resnet32x4': (dict(type='CifarResNet', depth=32, stem_channels=32, base_channels=64), 256),
    'wrn_16_1': (dict(type='WideResNet', depth=16, widen_factor=1), 64),
    'wrn_16_2': (dict(type='WideResNet', depth=16, widen_factor=2), 128),
    'wrn_40_1': (dict(type='WideResNet', depth=40, widen_factor=1), 64),
    'wrn_40_2': (dict(type='WideResNet', depth=40, widen_factor=2), 128),
    'vgg8': (dict(type='CifarVGG', depth=8), 512),
    'vgg11': (dict(type='CifarVGG', depth=11), 512),
    'vgg13': (dict(type='CifarVGG', depth=13), 512),
    'vgg16': (dict(type='CifarVGG', depth=16), 512),
    'vgg19': (dict(type='CifarVGG', depth=19), 512),
    'MobileNetV2': (dict(type='CifarMobileNetV2', widen_factor=0.5), 1280),
    'ShuffleV1': (dict(type='CifarShuffleNetV1', groups=3), 960),
    'ShuffleV2': (dict(type='CifarShuffleNetV2', widen_factor=1.0), 1024),
}

CIFAR_ARCHS = {name: cfg for name, (cfg, _) in _ARCHS.items()}


def cifar_classifier(name: str, num_classes: int = 100,
                     data_preprocessor: dict | None = None) -> dict:
    """The ``ImageClassifier`` config of the benchmark architecture ``name``.

    Args:
        name: a key of ``CIFAR_ARCHS`` (``'resnet32x4'``, ``'wrn_40_2'``, ...).
        num_classes: classes of the linear head.
        data_preprocessor: preprocessor config; ``None`` keeps the classifier's
            default (CIFAR-10 statistics).

    Raises:
        KeyError: unknown name (the message lists the known ones).
    """
    if name not in _ARCHS:
        raise KeyError(f'unknown CIFAR architecture {name!r}; known: {sorted(_ARCHS)}')
    backbone, channels = _ARCHS[name]
    cfg = dict(type='ImageClassifier', backbone=copy.deepcopy(backbone),
               head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=channels))
    if data_preprocessor is not None:
        cfg['data_preprocessor'] = copy.deepcopy(data_preprocessor)
    return cfg
