"""Classification models: CIFAR-style backbones, a linear head, an image classifier."""
from .backbones import CifarResNet
from .classifiers import ImageClassifier
from .data_preprocessors import ClsDataPreprocessor
from .heads import LinearClsHead

__all__ = ['CifarResNet', 'ImageClassifier', 'ClsDataPreprocessor', 'LinearClsHead']
