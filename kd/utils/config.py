"""Config path resolution shared by the tools and the distillers."""
from __future__ import annotations

import difflib
import glob
import os
import os.path as osp

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _package_config_root(package: str) -> str:
    if package == 'kd':
        # a source checkout (editable install): the repository's configs/; an installed
        # wheel: the copies in kd/.mim/configs (REPO_ROOT is then site-packages, which
        # may hold another project's top-level `configs`)
        in_checkout = osp.isdir(osp.join(REPO_ROOT, 'configs')) and \
            osp.isfile(osp.join(REPO_ROOT, 'setup.py'))
        return osp.join(REPO_ROOT, 'configs') if in_checkout else osp.join(
            osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'configs')
    try:
        from mmengine.utils import get_installed_path
        return osp.join(get_installed_path(package), '.mim', 'configs')
    except Exception as err:  # noqa: BLE001
        raise FileNotFoundError(
            f'"{package}::" config paths need the package "{package}" installed '
            f'({type(err).__name__}: {err}). Install it or use a file path.') from err


def _suggest(path: str) -> str:
    """Closest existing names for the missing part of ``path``."""
    parent, name = osp.split(osp.normpath(path))
    hops = []
    while parent and not osp.isdir(parent):
        parent, hop = osp.split(parent)
        hops.insert(0, hop)
    if not parent:
        return ''
    wanted = hops[0] if hops else name
    entries = sorted(os.listdir(parent))
    close = difflib.get_close_matches(wanted, entries, n=5, cutoff=0.4)
    return f' Closest names in {parent}: {", ".join(close)}.' if close else ''


# Folders of the earlier two-axis layout (per benchmark); their recipes now live in
# the folder of their method and the teachers/students in configs/baselines/.
_OLD_CONFIG_FOLDERS = ('quickstart', 'cifar100', 'workflows', 'unlabeled')


def _moved(path: str) -> str:
    """Where a recipe of the earlier layout lives now (same file name, another folder)."""
    parts = osp.normpath(path).split(os.sep)
    if 'configs' not in parts or parts[-2:-1] == ['configs']:
        return ''
    root = os.sep.join(parts[:len(parts) - parts[::-1].index('configs')])
    found = sorted(glob.glob(osp.join(root, '*', parts[-1])))
    if not found:
        return ''
    where = ', '.join(osp.relpath(f, root) for f in found)
    old = parts[-2] if parts[-2] in _OLD_CONFIG_FOLDERS else None
    note = (f' configs/{old}/ was split into one folder per method '
            '(docs/architecture.md, "Configs").' if old else '')
    return f' A config of that name is at {where} (under {root}).{note}'


def resolve_config_path(path: str, base_dir: str | None = None) -> str:
    """Turn a config reference into an existing file path.

    Args:
        path: ``mmdet::retinanet/...py``, ``kd::baselines/...py``, an
            absolute path, or a path relative to ``base_dir`` (the directory
            of the recipe that names it) or to the working directory.
        base_dir: directory of the referring config, tried first for
            relative paths.

    Raises:
        FileNotFoundError: the file does not exist; the message names the
            path that was tried and the closest existing names.
    """
    if '::' in path:
        package, _, rel = path.partition('::')
        full = osp.join(_package_config_root(package), rel)
        if not osp.isfile(full):
            raise FileNotFoundError(
                f'config "{path}" not found (looked at {full}).{_moved(full) or _suggest(full)}')
        return full
    candidates = []
    if osp.isabs(path):
        candidates.append(path)
    else:
        if base_dir:
            candidates.append(osp.join(base_dir, path))
        candidates.append(osp.abspath(path))
        candidates.append(osp.join(REPO_ROOT, path))
    for cand in candidates:
        if osp.isfile(cand):
            return osp.abspath(cand)
    raise FileNotFoundError(
        f'config "{path}" not found (tried: {", ".join(candidates)}).'
        f'{_moved(candidates[-1]) or _suggest(candidates[0])}')
