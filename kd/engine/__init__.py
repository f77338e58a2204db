"""Training-loop helpers: loss-weight schedules."""
from .schedules import SCHEDULE_TYPES, progress_factor, schedule_factor, validate_schedule

__all__ = ['SCHEDULE_TYPES', 'progress_factor', 'schedule_factor', 'validate_schedule']
