"""Losses on intermediate features."""
from .at import ATLoss
from .cwd import ChannelWiseDivergence
from .fbkd import FBKDLoss
from .feature_mse import FeatureMSELoss
from .ickd import ICKDLoss
from .mgd import MGDLoss
from .nst import NSTLoss
from .pkd import PKDLoss
from .pkt import PKTLoss

__all__ = ['ATLoss', 'ChannelWiseDivergence', 'FBKDLoss', 'FeatureMSELoss', 'ICKDLoss', 'MGDLoss',
           'NSTLoss', 'PKDLoss', 'PKTLoss']
