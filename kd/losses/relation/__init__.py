"""Losses on relations between the samples of a batch (or between layers)."""
from .crd import CRDLoss
from .irg import IRGLoss
from .rkd import RKDLoss
from .sp import SPKDLoss
from .vid import VIDLoss

__all__ = ['SPKDLoss', 'RKDLoss', 'VIDLoss', 'IRGLoss', 'CRDLoss']
