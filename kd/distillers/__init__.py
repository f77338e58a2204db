"""Distillers: the top-level models of a distillation recipe."""
from .multi_teacher import MultiTeacherDistiller
from .self_distiller import SelfDistiller
from .single_teacher import SingleTeacherDistiller

__all__ = ['MultiTeacherDistiller', 'SelfDistiller', 'SingleTeacherDistiller']
