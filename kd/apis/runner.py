"""Config loading and Runner construction used by tools/train.py and tools/test.py."""
from __future__ import annotations

import os.path as osp
from typing import Sequence

from mmengine.config import Config, DictAction


def load_config(path: str, cfg_options: Sequence[str] = (), work_dir: str | None = None,
                launcher: str = 'none') -> Config:
    """Read a config and apply the command-line overrides.

    Sets ``work_dir`` (``./work_dirs/<config name>`` by default), the launcher,
    and the gloo backend for distributed runs when CUDA is not available.
    """
    import torch

    import kd  # noqa: F401  (enables kd:: paths and the checkpoint allowlist)
    from kd.utils.config import resolve_config_path

    resolved = resolve_config_path(path)
    check_duplicate_keys(resolved)
    cfg = Config.fromfile(resolved)
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
    if isinstance(model, dict) and getattr(_registered(model, 'MODELS'), 'uses_recipe_dir',
                                           False):
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
    check_data_paths(cfg)
    check_teacher_cache(cfg)
    _init_cpu_process_group(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def check_duplicate_keys(path: str) -> None:
    """Refuse a config file whose dict literals repeat a key.

    ``{'fpn': ..., 'fpn': ...}`` silently keeps the last value in Python, so a
    copied distill entry that was not renamed would vanish without a word.
    (``dict(fpn=..., fpn=...)`` is already a syntax error.)
    """
    import ast
    try:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError):
        return  # MMEngine reports unreadable files and syntax errors itself
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        seen: dict = {}
        for key in node.keys:
            if isinstance(key, ast.Constant) and isinstance(key.value, (str, int)):
                if key.value in seen:
                    raise ValueError(
                        f'{path}:{key.lineno}: the key {key.value!r} appears twice in one '
                        f'dict (first on line {seen[key.value]}); Python keeps only the last '
                        'one, so the first is silently lost. Rename one of them (distill '
                        'entry names must be unique).')
                seen[key.value] = key.lineno


def check_teacher_cache(cfg: Config) -> None:
    """For ``teacher=dict(cache=PATH)``: refuse a random training pipeline, add the hook.

    The distiller does not see the data pipeline, so the rule of
    :func:`kd.distillers.pipeline_randomness.random_transforms` is applied here to the
    training pipeline's configs, before anything is built; ``kd.TeacherCacheHook``
    (added to ``custom_hooks`` when missing) checks the built pipeline again and
    writes the cache after every epoch.
    """
    model = cfg.get('model')
    teacher = model.get('teacher') if isinstance(model, dict) else None
    if not isinstance(teacher, dict) or not teacher.get('cache'):
        return
    from kd.distillers.pipeline_randomness import refuse_random_pipeline
    loader = cfg.get('train_dataloader')
    if isinstance(loader, dict):
        for i, ds in enumerate(_dataset_cfgs(loader.get('dataset'))):
            refuse_random_pipeline(ds.get('pipeline'), 'train_dataloader.dataset.pipeline'
                                   + (f' (data set {i})' if i else ''))
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(isinstance(h, dict) and str(h.get('type', '')).rpartition('.')[2] ==
               'TeacherCacheHook' for h in hooks):
        hooks.append(dict(type='kd.TeacherCacheHook'))
        cfg.custom_hooks = hooks


def _registered(cfg: dict, registry: str) -> type | None:
    """The class a config's ``type`` names in kd's registry ``registry`` (or ``None``)."""
    import kd.registry
    kind = cfg.get('type')
    if isinstance(kind, type):
        return kind
    try:
        return getattr(kd.registry, registry).get(str(kind))
    except (KeyError, ImportError):
        return None


def _dataset_cfgs(dataset):
    """The dataset configs inside wrappers (RepeatDataset, ConcatDataset, ...)."""
    if not isinstance(dataset, dict):
        return
    inner = [dataset.get('dataset')] + list(dataset.get('datasets') or [])
    if any(isinstance(d, dict) for d in inner):
        for d in inner:
            yield from _dataset_cfgs(d)
    else:
        yield dataset


def check_data_paths(cfg: Config) -> None:
    """Fail early, with the config key and a fix, when a dataset file is missing.

    Checks ``ann_file`` (joined to ``data_root`` as MMEngine does) of every
    dataloader's dataset and of the evaluators. The embedded digits data sets
    create themselves and are skipped.
    """
    problems = []
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        datasets = list(_dataset_cfgs(loader.get('dataset')))
        if any(getattr(_registered(ds, 'DATASETS'), 'generates_own_files', False)
               for ds in datasets):
            continue  # made on first use, evaluator files included
        for ds in datasets:
            ann, root = ds.get('ann_file'), ds.get('data_root') or ''
            if ann and '://' not in str(ann):
                full = ann if osp.isabs(ann) else osp.join(root, ann)
                if not osp.exists(full):
                    problems.append(f'{split}_dataloader.dataset.ann_file: "{full}"')
            elif root and '://' not in str(root) and not osp.exists(root):
                problems.append(f'{split}_dataloader.dataset.data_root: "{root}"')
        evaluators = cfg.get(f'{split}_evaluator')
        for ev in evaluators if isinstance(evaluators, list) else [evaluators]:
            if isinstance(ev, dict) and ev.get('ann_file') and '://' not in str(
                    ev['ann_file']) and not osp.exists(ev['ann_file']):
                problems.append(f'{split}_evaluator.ann_file: "{ev["ann_file"]}"')
    if problems:
        raise FileNotFoundError(
            'dataset files not found:\n  ' + '\n  '.join(problems) + '\nPut the data set '
            'there (COCO: data/coco/annotations/instances_train2017.json etc., as in '
            "MMDetection's docs), or point data_root/ann_file at it with --cfg-options. The "
            'embedded digits data sets are made by python tools/data/prepare_digits.py.')


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
