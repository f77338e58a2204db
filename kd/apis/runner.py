"""Config loading and Runner construction used by tools/train.py and tools/test.py."""
from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config, DictAction


def load_config(path: str, cfg_options: Sequence[str] = (), work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read a config and apply the command-line overrides.

    Sets ``work_dir`` (``./work_dirs/<config name>`` by default), the launcher,
    and the gloo backend for distributed runs when CUDA is not available.
    """
    import torch

    import kd  # noqa: F401  (enables kd:: paths and the checkpoint allowlist)
    from kd.utils.config import resolve_config_path

    cfg = Config.fromfile(resolve_config_path(path))
    if cfg_options:
        action = DictAction(option_strings=['--cfg-options'], dest='cfg_options')
        opts: dict = {}
        for item in cfg_options:
            key, sep, value = item.partition('=')
            if not sep:
                raise SystemExit(f'--cfg-options expects KEY=VALUE, got "{item}"')
            opts[key] = action._parse_iterable(value)
        cfg.merge_from_dict(opts)
    cfg.launcher = launcher
    model = cfg.get('model')
    if isinstance(model, dict) and 'Distiller' in str(model.get('type', '')):
        # teacher/student config paths may be relative to the recipe file
        model.setdefault('recipe_dir', osp.dirname(osp.abspath(cfg.filename)))
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    if not torch.cuda.is_available():
        env_cfg = cfg.setdefault('env_cfg', {})
        dist_cfg = env_cfg.setdefault('dist_cfg', {})
        dist_cfg['backend'] = 'gloo'
    return cfg


def build_runner(cfg: Config):
    """Build MMEngine's Runner (or the config's ``runner_type``)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
