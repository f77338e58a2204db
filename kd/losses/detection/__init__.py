"""Detection-specific distillation losses."""
from .crosskd import CrossKDLoss
from .dense_head_kd import DenseHeadKDLoss
from .detr_kd import DETRDistillLoss
from .fgd import FGDLoss
from .ld import LDLoss
from .yolo_kd import YOLOObjectnessKDLoss

__all__ = ['DenseHeadKDLoss', 'FGDLoss', 'LDLoss', 'YOLOObjectnessKDLoss']
__all__ += ['DETRDistillLoss']
__all__ += ['CrossKDLoss']
