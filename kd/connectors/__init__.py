"""Adapters applied to a record before the loss (student or teacher side)."""
from .conv_connector import ConvConnector
from .exit_classifier import ExitClassifierConnector
from .linear_connector import LinearConnector
from .norm_connector import NormConnector
from .resize_connector import ResizeConnector

__all__ = ['ConvConnector', 'ExitClassifierConnector', 'LinearConnector', 'NormConnector',
           'ResizeConnector']
