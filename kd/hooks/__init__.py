"""Hooks: stop distillation, student export, distributed consistency check."""
from .consistency import WeightsConsistencyHook
from .stop_distill import StopDistillHook
from .student_checkpoint import StudentCheckpointHook

__all__ = ['StopDistillHook', 'StudentCheckpointHook', 'WeightsConsistencyHook']
