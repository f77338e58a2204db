"""Building the student and the teacher from configs or config files."""
from __future__ import annotations

import copy
import os.path as osp
from typing import Any

import torch.nn as nn
from mmengine.config import Config, ConfigDict

from kd.registry import MODELS, current_scope, import_scope, resolve_scope
from kd.utils.checkpoint import load_checkpoint_file
from kd.utils.config import resolve_config_path


def model_cfg_and_scope(spec: Any, base_dir: str | None = None,
                        what: str = 'model') -> tuple[dict, str | None, Config | None]:
    """Return ``(model_cfg, default_scope, full_config)`` for a model spec.

    ``spec`` is either a model config dict (``_base_.model``) or
    ``dict(config=PATH, ...)`` naming a config file whose ``model`` is used
    (other keys of ``spec`` are ignored here).
    """
    if isinstance(spec, (dict, ConfigDict)) and 'config' in spec:
        path = resolve_config_path(str(spec['config']), base_dir)
        full = Config.fromfile(path)
        if 'model' not in full:
            raise KeyError(f'{what} config "{spec["config"]}" ({path}) has no `model` entry')
        return ConfigDict(copy.deepcopy(full.model)), full.get('default_scope', None), full
    if isinstance(spec, (dict, ConfigDict)) and 'type' in spec:
        # ConfigDict (not dict): mmdet models read e.g. test_cfg.min_bbox_size as attributes
        return ConfigDict(copy.deepcopy(spec)), None, None
    raise TypeError(
        f'{what} must be a model config dict (with "type") or dict(config=PATH, ...); '
        f'got {type(spec).__name__}: {spec!r:.200}')


def build_model(cfg: dict, scope: str | None) -> nn.Module:
    """Build a model config under ``scope`` (its own config's default scope)."""
    scope = scope or current_scope()
    if scope:
        import_scope(scope)   # register that scope's modules
    # the model's own config scope decides, unless its type names another
    return MODELS.build(resolve_scope(ConfigDict(copy.deepcopy(cfg)), MODELS, (scope, ),
                                      default=scope))


def load_teacher_weights(teacher: nn.Module, checkpoint: str, base_dir: str | None = None,
                         strict: bool = True, allow_unsafe: bool = False) -> dict:
    """Load ``checkpoint`` into ``teacher``, strictly.

    A distillation checkpoint (keys ``student.*``) or an exported student is
    accepted as well as a plain model checkpoint.

    Raises:
        FileNotFoundError / RuntimeError: unreadable file.
        KeyError: missing or unexpected keys, or shape mismatches (listed).
    """
    path = checkpoint
    if not osp.isabs(path) and base_dir and osp.isfile(osp.join(base_dir, path)):
        path = osp.join(base_dir, path)
    if path.startswith(('http://', 'https://')):
        # downloaded once into torch's hub cache, then read like a local file:
        # weights_only with kd's allowlist unless the user opted out
        import torch

        from kd.utils.checkpoint import install_safe_globals
        install_safe_globals()
        try:
            data = torch.hub.load_state_dict_from_url(path, map_location='cpu',
                                                      weights_only=not allow_unsafe)
        except Exception as err:  # noqa: BLE001 - say which URL and what to do
            raise RuntimeError(
                f'could not load the teacher checkpoint {path}: {type(err).__name__}: '
                f'{str(err).splitlines()[0] if str(err) else ""}. Check the URL and the '
                'network, or download it and give the local path. A checkpoint that holds '
                'pickled objects needs teacher=dict(..., allow_unsafe_unpickle=True).') from err
    elif not osp.isfile(path):
        raise FileNotFoundError(
            f'teacher checkpoint "{path}" does not exist. Train the teacher first '
            '(tools/train.py TEACHER_CONFIG), or give its file: --cfg-options '
            'model.teacher.checkpoint=PATH (several teachers: model.teachers.NAME.checkpoint).')
    else:
        data = load_checkpoint_file(path, allow_unsafe=allow_unsafe)
    state = data.get('state_dict', data) if isinstance(data, dict) else data
    if not isinstance(state, dict):
        raise KeyError(f'teacher checkpoint "{checkpoint}" holds no state_dict')
    if any(k.startswith('student.') for k in state):  # a kd distillation checkpoint
        state = {k[len('student.'):]: v for k, v in state.items() if k.startswith('student.')}
    if any(k.startswith('module.') for k in state):
        state = {k[len('module.'):] if k.startswith('module.') else k: v
                 for k, v in state.items()}
    own = teacher.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if strict and (missing or unexpected or mismatched):
        def show(keys):
            return ', '.join(keys[:8]) + (f' ... (+{len(keys) - 8} more)' if len(keys) > 8 else '')
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing keys: {show(missing)}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected keys: {show(unexpected)}')
        if mismatched:
            parts.append(f'{len(mismatched)} shape mismatches: ' + show(
                [f'{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
                 for k in mismatched]))
        raise KeyError(
            f'teacher checkpoint "{checkpoint}" does not match the teacher config: '
            + '; '.join(parts) + '. Check that `teacher.config` is the config the '
            'checkpoint was trained with. A random teacher silently ruins distillation; '
            'to use one on purpose set teacher=dict(..., allow_random_init=True).')
    teacher.load_state_dict({k: v for k, v in state.items() if k in own
                             and k not in mismatched}, strict=False)
    return data.get('meta', {}) if isinstance(data, dict) else {}


def load_model_file(spec: dict, base_dir: str | None = None) -> nn.Module:
    """A whole pickled model (e.g. a pruned network no config can describe).

    ``spec = dict(model_file=PATH, allow_unsafe_unpickle=True)``. Unpickling a
    module runs code from the file, so it needs the explicit opt-in.
    """
    unknown = set(spec) - {'model_file', 'allow_unsafe_unpickle'}
    if unknown:
        raise KeyError(f'a model_file student takes only model_file and allow_unsafe_unpickle; '
                       f'got {sorted(unknown)}')
    path = spec['model_file']
    if not osp.isabs(path) and base_dir and osp.isfile(osp.join(base_dir, path)):
        path = osp.join(base_dir, path)
    if not spec.get('allow_unsafe_unpickle', False):
        raise ValueError(
            f'student model_file "{spec["model_file"]}" is a pickled module: loading it runs '
            'code stored in the file. If you trust the file (e.g. your own pruned model), set '
            'student=dict(model_file=..., allow_unsafe_unpickle=True).')
    if not osp.isfile(path):
        raise FileNotFoundError(f'student model_file "{path}" does not exist')
    import torch
    model = torch.load(path, map_location='cpu', weights_only=False)
    if not isinstance(model, nn.Module):
        raise TypeError(f'student model_file "{path}" holds a {type(model).__name__}, not a '
                        'torch.nn.Module (save the whole model with torch.save(model, path))')
    return model
