"""Detection-specific distillation losses."""
from .dense_head_kd import DenseHeadKDLoss

__all__ = ['DenseHeadKDLoss']
