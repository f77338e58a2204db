"""Training-loop helpers: loss-weight schedules, the distillation validation loop, optimizer
wrappers (skip non-finite steps, DOT)."""
from .dot import DOTOptimWrapper
from .optim_wrapper import SkipNonFiniteOptimWrapper
from .schedules import SCHEDULE_TYPES, progress_factor, schedule_factor, validate_schedule
from .val_loop import DistillValLoop

__all__ = ['SCHEDULE_TYPES', 'progress_factor', 'schedule_factor', 'validate_schedule',
           'DistillValLoop', 'SkipNonFiniteOptimWrapper', 'DOTOptimWrapper']
