"""Backbones: each ``forward`` returns a tuple of stage features (``out_channels`` says
their widths), so ``ImageClassifier`` + ``LinearClsHead`` and recorders on
``dict(source='backbone', index=i)`` work with every one of them."""
from .cifar_mobilenet_v2 import CifarMobileNetV2
from .cifar_resnet import CifarResNet
from .cifar_shufflenet import CifarShuffleNetV1, CifarShuffleNetV2
from .cifar_vgg import CifarVGG
from .timm_backbone import TimmBackbone
from .wide_resnet import WideResNet
from .zoo import CIFAR_ARCHS, cifar_classifier

__all__ = ['CifarResNet', 'WideResNet', 'CifarVGG', 'CifarMobileNetV2', 'CifarShuffleNetV1',
           'CifarShuffleNetV2', 'TimmBackbone', 'CIFAR_ARCHS', 'cifar_classifier']
