"""Classification models: CIFAR-style backbones, a linear head, an image classifier."""
from .backbones import (
    CIFAR_ARCHS,
    CifarMobileNetV2,
    CifarResNet,
    CifarShuffleNetV1,
    CifarShuffleNetV2,
    CifarVGG,
    TimmBackbone,
    WideResNet,
    cifar_classifier,
)
from .classifiers import ImageClassifier
from .data_preprocessors import ClsDataPreprocessor
from .heads import LinearClsHead

__all__ = ['CifarResNet', 'ImageClassifier', 'ClsDataPreprocessor', 'LinearClsHead',
           'WideResNet', 'CifarVGG', 'CifarMobileNetV2', 'CifarShuffleNetV1',
           'CifarShuffleNetV2', 'TimmBackbone', 'CIFAR_ARCHS', 'cifar_classifier']
