"""Distillers: the top-level models of a distillation recipe."""
from .single_teacher import SingleTeacherDistiller

__all__ = ['SingleTeacherDistiller']
