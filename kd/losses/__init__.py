"""Distillation losses: ``forward(student, teacher, **kwargs)``, one method a file."""
from .detection import DenseHeadKDLoss, DETRDistillLoss, FGDLoss, LDLoss, YOLOObjectnessKDLoss
from .feature import (
    ATLoss,
    ChannelWiseDivergence,
    FBKDLoss,
    FeatureMSELoss,
    ICKDLoss,
    MGDLoss,
    NSTLoss,
    PKDLoss,
    PKTLoss,
)
from .logits import (
    BYOTLoss,
    CTKDLoss,
    DISTLoss,
    DKDLoss,
    KDLoss,
    LearnableTemperature,
    LogitsL1Loss,
    LogitsMSELoss,
    MLKDLoss,
    SoftCrossEntropyLoss,
    WSLDLoss,
)
from .relation import CRDLoss, IRGLoss, RKDLoss, SPKDLoss, VIDLoss
from .utils import labels_from_data_samples

__all__ = ['KDLoss', 'FeatureMSELoss', 'ChannelWiseDivergence', 'ATLoss', 'ICKDLoss', 'MGDLoss',
           'NSTLoss', 'PKDLoss', 'PKTLoss', 'FBKDLoss']
__all__ += ['DKDLoss', 'DISTLoss', 'WSLDLoss', 'LogitsMSELoss', 'LogitsL1Loss',
            'SoftCrossEntropyLoss', 'SPKDLoss', 'RKDLoss', 'VIDLoss', 'IRGLoss', 'CRDLoss',
            'labels_from_data_samples']
__all__ += ['DenseHeadKDLoss', 'BYOTLoss']
__all__ += ['FGDLoss']
__all__ += ['LDLoss', 'YOLOObjectnessKDLoss']
__all__ += ['DETRDistillLoss']
__all__ += ['MLKDLoss', 'CTKDLoss', 'LearnableTemperature']
