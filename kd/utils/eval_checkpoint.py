"""What ``tools/test.py`` evaluates, and loading its checkpoint strictly.

MMEngine's Runner loads ``load_from`` with ``strict=False``: a checkpoint whose
keys do not fit the model only logs a warning, and the test reports the score
of a partly (or wholly) random model. The classic case is a distillation
checkpoint (keys ``student.*``, ``connectors.*``) tested with the student's
config: every key is "unexpected", nothing is loaded, and the mAP is 0.000.

Here the evaluated checkpoint is loaded as strictly as a teacher:

* a distillation checkpoint given with a plain (student) config is unwrapped:
  its ``student.*`` weights are taken without the prefix, the rest (teacher,
  connectors, distillation losses) is dropped, and one line says so;
* any other difference between the checkpoint and the model (missing or
  unexpected keys, shape mismatches) is refused with
  :class:`CheckpointMismatchError`, which lists a few of each with their count
  and says how to fix it.

A distillation recipe is evaluated through its student
(:func:`use_student_for_test`): the student config replaces the distiller, so
the teacher is neither built nor loaded and its checkpoint file is not needed.
"""
from __future__ import annotations

import copy
from collections import Counter
from typing import Any, Callable

import torch.nn as nn

from .checkpoint import load_checkpoint_file
from .export import STUDENT_PREFIX

Log = Callable[[str], None]

_SHOWN = 5  # keys listed per kind in a mismatch message


class CheckpointMismatchError(RuntimeError):
    """The checkpoint's weights do not fit the model of the config."""


def _default_log(msg: str) -> None:
    from mmengine.logging import print_log
    print_log(msg, logger='current')


def is_distiller_cfg(model_cfg: Any) -> bool:
    """Whether a ``model`` config is a kd distiller (``type`` names a ``*Distiller``)."""
    return isinstance(model_cfg, dict) and 'Distiller' in str(model_cfg.get('type', ''))


def student_model_cfg(model_cfg: dict, recipe_dir: str | None = None) -> dict | None:
    """The student's model config of a distiller config, or ``None``.

    ``student=_base_.model`` is used as it is; ``student=dict(config=PATH)``
    reads ``PATH``'s ``model`` (its ``default_scope`` becomes the model's
    ``_scope_``, as the distiller builds it). A distiller that sets its own
    ``data_preprocessor`` evaluates with it, so it replaces the student's.
    ``None`` for a ``student=dict(model_file=...)`` (a pickled module that no
    config describes).
    """
    from mmengine.config import Config, ConfigDict

    from .config import resolve_config_path

    student = model_cfg.get('student')
    if not isinstance(student, dict) or 'model_file' in student:
        return None
    if 'config' in student:
        path = resolve_config_path(str(student['config']), recipe_dir)
        full = Config.fromfile(path)
        if 'model' not in full:
            raise KeyError(f'student config "{student["config"]}" ({path}) has no `model`')
        out = ConfigDict(copy.deepcopy(full.model))
        scope = full.get('default_scope')
        if scope and '_scope_' not in out and '.' not in str(out.get('type', '')):
            out['_scope_'] = scope
    else:
        out = ConfigDict(copy.deepcopy(student))
    if isinstance(model_cfg.get('data_preprocessor'), dict):
        out['data_preprocessor'] = copy.deepcopy(model_cfg['data_preprocessor'])
    return out


def _without_teacher_files(model_cfg: dict) -> None:
    """Let a distiller build with random teachers (its teachers never run in test)."""
    specs = [model_cfg.get('teacher')] + list((model_cfg.get('teachers') or {}).values())
    for spec in specs:
        if isinstance(spec, dict) and 'config' in spec:
            spec['checkpoint'] = None
            spec['allow_random_init'] = True
            spec.pop('cache', None)


def use_student_for_test(cfg: Any) -> str | None:
    """Make ``cfg`` evaluate the student alone when its model is a distiller.

    The distiller's ``model`` is replaced by its student's config (see
    :func:`student_model_cfg`), so testing needs no teacher file. A student
    given as ``model_file`` keeps the distiller, built with random teachers
    that never run (``predict`` runs the student only).

    Returns:
        the line to log, or ``None`` when ``cfg`` is not a distillation recipe.
    """
    model = cfg.get('model')
    if not is_distiller_cfg(model):
        return None
    student = student_model_cfg(model, model.get('recipe_dir'))
    kind = model['type']
    if student is None:
        _without_teacher_files(model)
        return (f'distillation recipe ({kind}) with a model_file student: the distiller is '
                'built with untrained teachers, which test mode never runs; the checkpoint '
                'is loaded strictly into the distiller')
    cfg.model = student
    return (f'distillation recipe ({kind}): evaluating its student (model.student); the '
            'teacher is not built, so its checkpoint is not needed')


def _show(keys: list) -> str:
    more = len(keys) - _SHOWN
    return ', '.join(keys[:_SHOWN]) + (f' ... (+{more} more)' if more > 0 else '')


def _prefix_counts(keys: list) -> str:
    counts = Counter(k.split('.', 1)[0] + '.*' for k in keys)
    return ', '.join(f'{p}: {n}' for p, n in sorted(counts.items()))


def match_state_dict(state: dict, model: nn.Module, checkpoint: str,
                     config: str | None = None, meta: dict | None = None,
                     log: Log | None = None) -> dict:
    """The part of ``state`` that ``model`` loads, checked key for key.

    Args:
        state: the checkpoint's ``state_dict``.
        model: the model that will be evaluated (not a DDP wrapper).
        checkpoint: the file, for messages.
        config: the config file, for messages.
        meta: the checkpoint's ``meta`` (its ``experiment_name`` is named in
            the error, to show which run wrote the file).
        log: where the unwrapping line goes (MMEngine's current logger by
            default).

    Returns:
        the state dict to load with ``strict=True``: a ``module.`` prefix
        (DDP) removed and, for a distillation checkpoint and a plain model,
        the ``student.*`` weights without the prefix.

    Raises:
        CheckpointMismatchError: missing or unexpected keys or shape
            mismatches remain; the message lists up to five of each kind with
            their count and the fix.
    """
    log = log or _default_log
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    own = model.state_dict()
    unwrapped = False
    model_is_distiller = any(k.startswith(STUDENT_PREFIX) for k in own)
    if set(state) != set(own) and not model_is_distiller and \
            any(k.startswith(STUDENT_PREFIX) for k in state):
        dropped = sorted(k for k in state if not k.startswith(STUDENT_PREFIX))
        state = {k[len(STUDENT_PREFIX):]: v for k, v in state.items()
                 if k.startswith(STUDENT_PREFIX)}
        unwrapped = True
        log(f'checkpoint "{checkpoint}" is a distillation checkpoint: evaluating its '
            f'student.* weights ({len(state)} tensors) with the student config; dropped '
            f'{len(dropped)} tensors of the rest'
            + (f' ({_prefix_counts(dropped)})' if dropped else ''))
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(k for k in set(own) & set(state)
                        if tuple(own[k].shape) != tuple(state[k].shape))
    if not (missing or unexpected or mismatched):
        return state
    parts = []
    if missing:
        parts.append(f'{len(missing)} missing keys (in the model, not in the checkpoint): '
                     f'{_show(missing)}')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected keys (in the checkpoint, not in the '
                     f'model): {_show(unexpected)}')
    if mismatched:
        parts.append(f'{len(mismatched)} shape mismatches: ' + _show(
            [f'{k} {tuple(state[k].shape)} in the checkpoint vs {tuple(own[k].shape)} in '
             'the model' for k in mismatched]))
    where = f' of config "{config}"' if config else ''
    run = (meta or {}).get('experiment_name')
    written = f' (the checkpoint was written by the run "{run}")' if run else ''
    if unwrapped:
        fix = ('The checkpoint is a distillation checkpoint whose student was not built '
               'from this config: test it with the recipe it was trained with '
               '(tools/test.py RECIPE.py CHECKPOINT), or with that recipe\'s student config.')
    elif model_is_distiller:
        fix = ('Test it with the recipe it was trained with; an exported student checkpoint '
               'goes with the student\'s own config.')
    else:
        fix = ('Give the config the checkpoint was trained with: for a distillation '
               'checkpoint its recipe (or the recipe\'s student config), for an exported '
               'student the student config.')
    raise CheckpointMismatchError(
        f'checkpoint "{checkpoint}" does not fit the model{where}{written}: '
        + '; '.join(parts) + f'. {fix} A partly loaded model would be evaluated with random '
        'weights and report a meaningless score, so the checkpoint is refused.')


def load_checkpoint_strictly(model: nn.Module, checkpoint: str, config: str | None = None,
                             log: Log | None = None) -> dict:
    """Read ``checkpoint`` (``weights_only``) and load it into ``model`` strictly.

    See :func:`match_state_dict` for what is accepted. ``model`` may be a
    DDP wrapper (its ``module`` is loaded).

    Returns:
        the checkpoint's ``meta`` (``{}`` when it has none).

    Raises:
        FileNotFoundError / RuntimeError: unreadable file.
        CheckpointMismatchError: the weights do not fit the model.
    """
    from mmengine.model import is_model_wrapper
    if is_model_wrapper(model):
        model = model.module
    data = load_checkpoint_file(checkpoint)
    if not isinstance(data, dict):
        raise CheckpointMismatchError(f'checkpoint "{checkpoint}" holds a '
                                      f'{type(data).__name__}, not a state_dict')
    state = data.get('state_dict', data)
    meta = data.get('meta') if isinstance(data.get('meta'), dict) else {}
    if not isinstance(state, dict) or not state:
        raise CheckpointMismatchError(f'checkpoint "{checkpoint}" holds no weights')
    state = match_state_dict(state, model, checkpoint, config, meta, log)
    model.load_state_dict(state, strict=True)
    (log or _default_log)(f'loaded checkpoint "{checkpoint}" strictly ({len(state)} tensors)')
    return meta
