"""Losses on logits."""
from .byot import BYOTLoss
from .ctkd import CTKDLoss, LearnableTemperature
from .dist import DISTLoss
from .dkd import DKDLoss
from .kd_loss import KDLoss
from .logit_stand import standardize_logits
from .logits_lp import LogitsL1Loss, LogitsMSELoss
from .mlkd import MLKDLoss
from .soft_ce import SoftCrossEntropyLoss
from .wsld import WSLDLoss

__all__ = ['KDLoss', 'DKDLoss', 'DISTLoss', 'WSLDLoss', 'LogitsMSELoss', 'LogitsL1Loss',
           'SoftCrossEntropyLoss', 'BYOTLoss', 'MLKDLoss', 'CTKDLoss', 'LearnableTemperature',
           'standardize_logits']
