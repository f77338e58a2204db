"""Distillers: the top-level models of a distillation recipe."""
from .self_distiller import SelfDistiller
from .single_teacher import SingleTeacherDistiller

__all__ = ['SelfDistiller', 'SingleTeacherDistiller']
