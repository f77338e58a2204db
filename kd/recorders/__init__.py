"""Hook-based capture of module outputs/inputs and method outputs."""
from .base import BaseRecorder
from .head_features import HeadConvFeaturesRecorder
from .manager import RECORDER_KINDS, RecorderManager, build_recorder
from .method_recorder import MethodOutputsRecorder
from .module_recorders import ModuleInputsRecorder, ModuleOutputsRecorder

__all__ = ['BaseRecorder', 'ModuleOutputsRecorder', 'ModuleInputsRecorder',
           'MethodOutputsRecorder', 'HeadConvFeaturesRecorder', 'RecorderManager',
           'build_recorder', 'RECORDER_KINDS']
