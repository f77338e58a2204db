"""Distillers: the top-level models of a distillation recipe."""
from .layerwise_self_distiller import LayerwiseSelfDistiller
from .multi_teacher import MultiTeacherDistiller
from .self_distiller import SelfDistiller
from .single_teacher import SingleTeacherDistiller

__all__ = ['LayerwiseSelfDistiller', 'MultiTeacherDistiller', 'SelfDistiller',
           'SingleTeacherDistiller']
