"""Losses on intermediate features."""
from .cwd import ChannelWiseDivergence
from .feature_mse import FeatureMSELoss

__all__ = ['ChannelWiseDivergence', 'FeatureMSELoss']
