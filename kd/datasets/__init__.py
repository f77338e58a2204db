"""Data sets of kd: the DigitsDet / DigitsCls data built from sklearn digits."""
from .digits_cls import DigitsClsDataset
from .digits_data import build_digits_cls, build_digits_det, ensure_digits_data
from .transforms import PackClsInputs, RandomShiftCrop

__all__ = ['DigitsClsDataset', 'build_digits_cls', 'build_digits_det', 'ensure_digits_data',
           'PackClsInputs', 'RandomShiftCrop']

try:  # the detection side needs mmdet (and a compiled mmcv)
    from .digits_det import DigitsDetDataset  # noqa: F401
except ImportError:  # pragma: no cover - classification-only installs
    pass
else:
    __all__.append('DigitsDetDataset')
