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
        if launcher != 'none':
            # DDP over CPU modules takes no device_ids (MMEngine passes LOCAL_RANK)
            wrapper = cfg.get('model_wrapper_cfg') or dict(
                type='MMDistributedDataParallel', broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters', False))
            wrapper.setdefault('device_ids', None)
            cfg.model_wrapper_cfg = wrapper
    return cfg


def build_runner(cfg: Config):
    """Build MMEngine's Runner (or the config's ``runner_type``)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    _init_cpu_process_group(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def _init_cpu_process_group(cfg: Config) -> None:
    """Start the gloo process group for CPU-only distributed runs.

    MMEngine's ``init_dist`` calls ``torch.cuda.set_device`` for the pytorch
    launcher, which a CPU-only torch does not have. Starting the group here
    (from torchrun's environment variables) makes the Runner skip that call.
    """
    import torch
    import torch.distributed as dist
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available() \
            or not dist.is_available() or dist.is_initialized():
        return
    import datetime
    timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout', 1800)
    dist.init_process_group(backend='gloo', init_method='env://',
                            timeout=datetime.timedelta(seconds=timeout))
