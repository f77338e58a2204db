"""Turn a distillation checkpoint into a plain student checkpoint."""
from __future__ import annotations

from collections import OrderedDict

import torch

from .atomic import atomic_torch_save
from .checkpoint import load_checkpoint_file

STUDENT_PREFIX = 'student.'


def student_state_dict(state_dict: dict) -> 'OrderedDict[str, torch.Tensor]':
    """Keep the ``student.*`` weights, without the prefix (no teacher, no connectors)."""
    student = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('module.'):  # saved from a DDP wrapper
            key = key[len('module.'):]
        if key.startswith(STUDENT_PREFIX):
            student[key[len(STUDENT_PREFIX):]] = value
    return student


def export_student_checkpoint(src: dict, meta_extra: dict | None = None) -> dict:
    """A checkpoint dict holding only the student's weights and the meta.

    Args:
        src: a checkpoint dict written by MMEngine for a kd distiller.

    Raises:
        KeyError: ``src`` holds no ``student.*`` weights (not a kd
            distillation checkpoint).
    """
    state = src.get('state_dict', src)
    student = student_state_dict(state)
    if not student:
        raise KeyError('the checkpoint holds no "student.*" weights: it is not a kd '
                       'distillation checkpoint (a plain model checkpoint needs no export).')
    meta = dict(src.get('meta', {}) or {})
    meta.update(meta_extra or {})
    meta['kd_exported_student'] = True
    return {'meta': meta, 'state_dict': student}


def export_student(path: str, out: str) -> dict:
    """Read the distillation checkpoint ``path`` and write the student to ``out``."""
    exported = export_student_checkpoint(load_checkpoint_file(path))
    atomic_torch_save(exported, out)
    return exported
