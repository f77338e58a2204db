"""Distillers: the top-level models of a distillation recipe.

Each orchestrates a teacher side (:mod:`kd.distillers.teachers`) and one
:class:`~kd.distillers.entry.DistillEntry` per distilled pair.
"""
from .base import BaseDistiller
from .entry import DistillEntry
from .layerwise_self_distiller import LayerwiseSelfDistiller
from .multi_teacher import MultiTeacherDistiller
from .self_distiller import SelfDistiller
from .single_teacher import SingleTeacherDistiller

__all__ = ['BaseDistiller', 'DistillEntry', 'LayerwiseSelfDistiller', 'MultiTeacherDistiller',
           'SelfDistiller', 'SingleTeacherDistiller']
