"""Checks run by ``tools/train.py`` before the Runner is built.

Two failures would otherwise come late, after the teacher has been built and
loaded, and deep inside MMEngine:

* **Pretrained weights that cannot be fetched.** MMDetection's COCO configs
  initialise the backbone with ``init_cfg=dict(type='Pretrained',
  checkpoint='torchvision://resnet50')``. MMEngine resolves ``torchvision://``
  names through torchvision (``ModuleNotFoundError`` without it), and
  downloads ``http(s)://`` and ``open-mmlab://`` files into the torch hub cache
  (``torch.hub.get_dir()/checkpoints``), which fails offline.
  :func:`check_pretrained_checkpoints` walks the config for such checkpoints
  (the student's ``init_cfg``s, teacher checkpoints given as URLs,
  ``load_from``) and refuses, naming each config key, the file it would read
  from the hub cache, and the fixes.
* **Resume and the teacher checkpoint.** The teacher is never in a
  distillation checkpoint; it is rebuilt from the config on resume. A first run
  started with ``--cfg-options model.teacher.checkpoint=PATH`` and resumed with
  ``--resume`` alone would get the recipe's own teacher path: a missing file,
  or worse, another teacher. :func:`adopt_resumed_teacher_checkpoints` reads
  the config saved in the checkpoint that is resumed and keeps its teacher
  checkpoint when the current one is not a file.

This module does not import ``kd.distillers`` (utils must not import upward).
"""
from __future__ import annotations

import importlib.util
import os.path as osp
import threading
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

Log = Callable[[str], None]

_REACHABLE: dict = {}  # host -> bool, one network probe per host and process


class PreflightError(RuntimeError):
    """Training would fail later; the message says where and what to do."""


def _default_log(msg: str) -> None:
    from mmengine.logging import print_log
    print_log(msg, logger='current')


# --------------------------------------------------------------- environment
def torchvision_available() -> bool:
    """Whether ``import torchvision`` would find the package."""
    return importlib.util.find_spec('torchvision') is not None


def host_reachable(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``host`` opens within ``timeout`` seconds.

    Run in a daemon thread joined with the timeout, since a name lookup
    without a reachable resolver is not bounded by the socket timeout.
    """
    if host in _REACHABLE:
        return _REACHABLE[host]
    import socket
    result = [False]

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result[0] = True
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    _REACHABLE[host] = result[0]
    return result[0]


def hub_checkpoint_dir() -> str:
    """Where MMEngine and torch look for downloaded checkpoints."""
    import torch
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def matching_torchvision() -> tuple[str, str | None]:
    """``(torch version, the torchvision minor series made for it or None)``."""
    import torch
    version = torch.__version__.split('+')[0]
    try:
        major, minor = (int(x) for x in version.split('.')[:2])
    except ValueError:
        return version, None
    # torchvision 0.15 came with torch 2.0, and one minor release each torch minor since
    return version, (f'0.{minor + 15}' if major == 2 else None)


def torchvision_url(name: str) -> str | None:
    """The download URL MMEngine uses for ``torchvision://name`` (no torchvision needed)."""
    import mmengine
    try:
        urls = mmengine.load(osp.join(mmengine.__path__[0], 'hub/torchvision_0.12.json'))
    except Exception:  # noqa: BLE001 - an MMEngine without the table
        return None
    return urls.get(name)


def openmmlab_url(spec: str) -> str | None:
    """The URL (or ``None`` when unknown) of ``open-mmlab://name`` / ``openmmlab://name``."""
    try:
        from mmengine.runner.checkpoint import get_deprecated_model_names, get_external_models
        name = spec.split('://', 1)[1]
        name = get_deprecated_model_names().get(name, name)
        return get_external_models().get(name)
    except Exception:  # noqa: BLE001
        return None


# ------------------------------------------------------------ config walking
def _pretrained_in(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """``(key path of the checkpoint, checkpoint)`` of every ``Pretrained`` init under node."""
    if isinstance(node, dict):
        if str(node.get('type', '')) == 'Pretrained' and isinstance(node.get('checkpoint'), str):
            yield f'{path}.checkpoint', node['checkpoint']
        for key, value in node.items():
            yield from _pretrained_in(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pretrained_in(value, f'{path}.{i}')


def _is_distiller(model: Any) -> bool:
    return isinstance(model, dict) and 'Distiller' in str(model.get('type', ''))


def teacher_checkpoint_keys(cfg: Any) -> dict:
    """``{key path: checkpoint}`` of the teacher(s) of a distiller config."""
    model = cfg.get('model')
    out: dict = {}
    if not _is_distiller(model):
        return out
    teacher = model.get('teacher')
    if isinstance(teacher, dict) and isinstance(teacher.get('checkpoint'), str):
        out['model.teacher.checkpoint'] = teacher['checkpoint']
    for name, spec in (model.get('teachers') or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get('checkpoint'), str):
            out[f'model.teachers.{name}.checkpoint'] = spec['checkpoint']
    return out


def pretrained_checkpoints(cfg: Any) -> list:
    """``[(key path, checkpoint, where)]`` of the weights loaded by URL or name at start.

    ``where`` is ``None`` for keys of ``cfg`` itself, or the config file that
    holds the key (a ``student=dict(config=PATH)``). Teachers' own
    ``init_cfg``s are skipped: a teacher is loaded from its checkpoint and its
    weights are never initialised.
    """
    model = cfg.get('model')
    found = []
    if _is_distiller(model):
        student = model.get('student')
        if isinstance(student, dict) and 'config' in student:
            from mmengine.config import Config

            from .config import resolve_config_path
            path = resolve_config_path(str(student['config']), model.get('recipe_dir'))
            sub = Config.fromfile(path).get('model')
            found += [(k, c, path) for k, c in _pretrained_in(sub, 'model')]
        else:
            found += [(k, c, None) for k, c in _pretrained_in(student, 'model.student')]
        for key, value in teacher_checkpoint_keys(cfg).items():
            found.append((key, value, None))
    else:
        found += [(k, c, None) for k, c in _pretrained_in(model, 'model')]
    if isinstance(cfg.get('load_from'), str) and not cfg.get('resume'):
        found.append(('load_from', cfg['load_from'], None))
    return found


# --------------------------------------------------------------------- checks
def _http_problem(url: str, reachable: Callable[[str], bool]) -> tuple[str | None, str]:
    """``(problem or None, cached file path)`` for a URL."""
    cached = osp.join(hub_checkpoint_dir(), osp.basename(urlparse(url).path))
    if osp.isfile(cached):
        return None, cached
    host = urlparse(url).hostname or ''
    if reachable(host):
        return None, cached
    return (f'it is downloaded from {host}, which cannot be reached, and the file is not in '
            f'the torch hub cache ({cached})'), cached


def _fixes(key: str, where: str | None, url: str | None, cached: str | None,
           is_teacher: bool, is_init: bool, needs_torchvision: bool) -> list:
    fixes = []
    if needs_torchvision:
        torch_version, series = matching_torchvision()
        pin = f"'torchvision=={series}.*'" if series else 'torchvision'
        fixes.append(f'install the torchvision made for your torch {torch_version}: pip '
                     f'install {pin} (a CPU-only torch: add --index-url '
                     'https://download.pytorch.org/whl/cpu)')
    if cached and url:
        step = (f'download {url} elsewhere and put it at {cached} (the torch hub cache, '
                'torch.hub.get_dir()/checkpoints; set TORCH_HOME to move it): a file there '
                'is used without network')
        if needs_torchvision:
            step += (f'; without torchvision, also name the URL instead of the torchvision:// '
                     f'name: --cfg-options {key}={url}')
        fixes.append(step)
    how = f'in {where} (the student config file: edit it there) set' if where else \
        'give'
    if is_teacher:
        fixes.append(f'{how} a local teacher checkpoint: --cfg-options {key}=PATH')
    elif key == 'load_from':
        fixes.append('give a local checkpoint: --cfg-options load_from=PATH')
    else:
        fixes.append(f'{how} a local checkpoint: --cfg-options {key}=PATH')
        if is_init:
            init_key = key.rsplit('.', 1)[0]
            fixes.append(f'or train it from scratch: --cfg-options {init_key}=None')
    return fixes


def check_pretrained_checkpoints(cfg: Any,
                                 reachable: Callable[[str], bool] | None = None,
                                 has_torchvision: Callable[[], bool] | None = None) -> None:
    """Refuse, before anything is built, checkpoints this environment cannot read.

    Args:
        cfg: the training config (after ``--cfg-options``).
        reachable: ``host -> bool`` (:func:`host_reachable` by default),
            asked only for URLs whose file is not in the hub cache.
        has_torchvision: (:func:`torchvision_available` by default).

    Raises:
        PreflightError: one or more checkpoints cannot be loaded; the message
            names each config key, the URL and the cached file it would use,
            and the fixes.
    """
    reachable = reachable or host_reachable
    has_torchvision = has_torchvision or torchvision_available
    problems = []
    teacher_keys = set(teacher_checkpoint_keys(cfg))
    for key, ckpt, where in pretrained_checkpoints(cfg):
        is_teacher = key in teacher_keys
        is_init = not is_teacher and key != 'load_from'
        url, problem, cached, needs_tv = None, None, None, False
        if ckpt.startswith('torchvision://'):
            url = torchvision_url(ckpt[len('torchvision://'):])
            cached = osp.join(hub_checkpoint_dir(), osp.basename(urlparse(url).path)) \
                if url else None
            if not has_torchvision():
                needs_tv = True
                problem = ('MMEngine resolves torchvision:// names through torchvision, '
                           'which is not installed (ModuleNotFoundError: No module named '
                           "'torchvision' during weight initialisation)")
            elif url:
                problem, cached = _http_problem(url, reachable)
        elif ckpt.startswith(('open-mmlab://', 'openmmlab://')):
            url = openmmlab_url(ckpt)
            if url is None:
                problem = 'MMEngine knows no model of that name (mmengine/hub/openmmlab.json)'
            elif url.startswith(('http://', 'https://')):
                problem, cached = _http_problem(url, reachable)
        elif ckpt.startswith(('http://', 'https://')):
            url = ckpt
            problem, cached = _http_problem(url, reachable)
        elif '://' not in ckpt and is_init and not osp.isfile(ckpt):
            problem = 'the file does not exist'
        if problem is None:
            continue
        fixes = _fixes(key, where, url, cached, is_teacher, is_init, needs_tv)
        at = f' (in {where})' if where else ''
        problems.append(f'{key}{at} = {ckpt!r}: {problem}.\n    Fix: '
                        + ';\n      '.join(fixes) + '.')
    if problems:
        raise PreflightError(
            f'{len(problems)} checkpoint(s) named by the config cannot be loaded in this '
            'environment (checked before anything is built; training would stop there, '
            'or after the teacher is built, deep in weight initialisation):\n  '
            + '\n  '.join(problems))


# --------------------------------------------------------------------- resume
def resumed_checkpoint(cfg: Any) -> str | None:
    """The checkpoint a ``resume=True`` config continues from, or ``None``."""
    if not cfg.get('resume'):
        return None
    if cfg.get('load_from'):
        return str(cfg.load_from)
    from mmengine.runner import find_latest_checkpoint
    work_dir = cfg.get('work_dir')
    return find_latest_checkpoint(work_dir) if work_dir and osp.isdir(work_dir) else None


def _saved_config(checkpoint: str) -> Any:
    """The config saved in a checkpoint's ``meta['cfg']`` (``None`` when absent)."""
    import torch
    from mmengine.config import Config

    from .checkpoint import install_safe_globals
    install_safe_globals()
    try:
        data = torch.load(checkpoint, map_location='cpu', weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - MMEngine reports an unreadable file itself
        return None
    text = (data.get('meta') or {}).get('cfg') if isinstance(data, dict) else None
    if not isinstance(text, str):
        return None
    try:
        return Config.fromstring(text, '.py')
    except Exception:  # noqa: BLE001 - a config that does not parse back
        return None


def _teacher_file_exists(path: str, recipe_dir: str | None) -> bool:
    if path.startswith(('http://', 'https://')):
        return True
    return osp.isfile(path) or bool(recipe_dir and osp.isfile(osp.join(recipe_dir, path)))


def _set_key(cfg: Any, key: str, value: str) -> None:
    node = cfg
    parts = key.split('.')
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


def adopt_resumed_teacher_checkpoints(cfg: Any, log: Log | None = None) -> list:
    """On resume, keep the first run's teacher checkpoint when the current one is missing.

    Compares every teacher checkpoint key of ``cfg`` with the config saved in
    the resumed checkpoint: a current file that does not exist is replaced by
    the saved one (when that exists), with a line saying so; two existing
    files that differ are kept as given, with a warning naming both.

    Returns:
        the keys that were replaced.
    """
    log = log or _default_log
    current = teacher_checkpoint_keys(cfg)
    checkpoint = resumed_checkpoint(cfg) if current else None
    if not checkpoint or not osp.isfile(checkpoint):
        return []
    saved_cfg = _saved_config(checkpoint)
    if saved_cfg is None:
        return []
    saved = teacher_checkpoint_keys(saved_cfg)
    recipe_dir = cfg.model.get('recipe_dir')
    saved_dir = (saved_cfg.get('model') or {}).get('recipe_dir')
    replaced = []
    for key, now in current.items():
        before = saved.get(key)
        if before is None or before == now:
            continue
        if not _teacher_file_exists(now, recipe_dir):
            if saved_dir and not osp.isabs(before) and '://' not in before and \
                    osp.isfile(osp.join(saved_dir, before)):
                before = osp.join(saved_dir, before)
            if _teacher_file_exists(before, recipe_dir):
                _set_key(cfg, key, before)
                replaced.append(key)
                log(f'resume: {key} "{now}" does not exist; using the first run\'s '
                    f'"{before}" (from the config saved in {checkpoint})')
        elif _teacher_file_exists(before, saved_dir):
            log(f'resume: WARNING {key} is "{now}", but the run being resumed ({checkpoint}) '
                f'was trained with "{before}": the teacher changes mid-training. To keep the '
                f'first teacher: --cfg-options {key}={before}')
    return replaced


def preflight(cfg: Any, log: Log | None = None) -> None:
    """Everything ``tools/train.py`` checks before building the Runner.

    Raises:
        PreflightError: see :func:`check_pretrained_checkpoints`.
    """
    adopt_resumed_teacher_checkpoints(cfg, log)
    check_pretrained_checkpoints(cfg)
