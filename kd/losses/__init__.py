"""Distillation losses: ``forward(student, teacher, **kwargs)``, one method a file."""
from .feature import ChannelWiseDivergence, FeatureMSELoss
from .logits import KDLoss

__all__ = ['KDLoss', 'FeatureMSELoss', 'ChannelWiseDivergence']
