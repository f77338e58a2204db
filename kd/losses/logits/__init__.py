"""Losses on logits."""
from .byot import BYOTLoss
from .dist import DISTLoss
from .dkd import DKDLoss
from .kd_loss import KDLoss
from .logits_lp import LogitsL1Loss, LogitsMSELoss
from .soft_ce import SoftCrossEntropyLoss
from .wsld import WSLDLoss

__all__ = ['KDLoss', 'DKDLoss', 'DISTLoss', 'WSLDLoss', 'LogitsMSELoss', 'LogitsL1Loss',
           'SoftCrossEntropyLoss', 'BYOTLoss']
