"""Hooks: atomic checkpoints, stop distillation, student export, consistency check,
feature images, teacher cache, hooks run on the student."""
from .atomic_checkpoint import AtomicCheckpointHook
from .consistency import WeightsConsistencyHook
from .feature_vis import FeatureVisualizationHook
from .sharing_strategy import SharingStrategyHook
from .stop_distill import StopDistillHook
from .student_checkpoint import StudentCheckpointHook
from .student_hook import StudentHook
from .teacher_cache import TeacherCacheHook

__all__ = ['AtomicCheckpointHook', 'FeatureVisualizationHook', 'SharingStrategyHook',
           'StopDistillHook', 'StudentCheckpointHook', 'StudentHook', 'TeacherCacheHook',
           'WeightsConsistencyHook']
