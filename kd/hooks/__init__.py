"""Hooks: atomic checkpoints, stop distillation, student export, consistency check,
feature images, teacher cache."""
from .atomic_checkpoint import AtomicCheckpointHook
from .consistency import WeightsConsistencyHook
from .feature_vis import FeatureVisualizationHook
from .stop_distill import StopDistillHook
from .student_checkpoint import StudentCheckpointHook
from .teacher_cache import TeacherCacheHook

__all__ = ['AtomicCheckpointHook', 'FeatureVisualizationHook', 'StopDistillHook',
           'StudentCheckpointHook', 'TeacherCacheHook', 'WeightsConsistencyHook']
