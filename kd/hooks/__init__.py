"""Hooks: student export, distributed consistency check."""
from .consistency import WeightsConsistencyHook
from .student_checkpoint import StudentCheckpointHook

__all__ = ['StudentCheckpointHook', 'WeightsConsistencyHook']
