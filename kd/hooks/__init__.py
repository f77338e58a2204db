"""Hooks: student export (loss-weight schedules and stop-distillation follow)."""
from .student_checkpoint import StudentCheckpointHook

__all__ = ['StudentCheckpointHook']
