"""Data sets of kd: the DigitsDet / DigitsCls data built from sklearn digits, CIFAR-10/100
and ImageNet-style image folders."""
from .cifar import CIFARDataset
from .digits_cls import DigitsClsDataset
from .digits_data import build_digits_cls, build_digits_det, ensure_digits_data
from .image_folder import ImageFolderClsDataset
from .transforms import (
    CenterCropImage,
    PackClsInputs,
    RandomHorizontalFlip,
    RandomResizedCropImage,
    RandomShiftCrop,
    ResizeShortEdge,
)
from .unlabeled import SplitLabels, UnlabeledImageDataset, mark_unlabeled

__all__ = ['DigitsClsDataset', 'build_digits_cls', 'build_digits_det', 'ensure_digits_data',
           'PackClsInputs', 'RandomShiftCrop', 'CIFARDataset', 'ImageFolderClsDataset',
           'RandomHorizontalFlip', 'ResizeShortEdge', 'CenterCropImage',
           'RandomResizedCropImage', 'SplitLabels', 'UnlabeledImageDataset', 'mark_unlabeled']

try:  # the detection side needs mmdet (and a compiled mmcv)
    from .digits_det import DigitsDetDataset  # noqa: F401
except ImportError:  # pragma: no cover - classification-only installs
    pass
else:
    __all__.append('DigitsDetDataset')
