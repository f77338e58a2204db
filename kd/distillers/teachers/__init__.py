"""The teacher side of the distillers: one component, several kinds (see :class:`Teacher`)."""
from .base import TEACHER_AUTOCAST, Teacher, autocast
from .ensemble import TeacherEnsemble, weighted_mean
from .frozen import FrozenTeacher, OnlineTeacher, load_teacher
from .inputs import TeacherInputs
from .own import EMATeacher, OwnLayersTeacher

__all__ = ['TEACHER_AUTOCAST', 'EMATeacher', 'FrozenTeacher', 'OnlineTeacher',
           'OwnLayersTeacher', 'Teacher', 'TeacherEnsemble', 'TeacherInputs', 'autocast',
           'load_teacher', 'weighted_mean']
