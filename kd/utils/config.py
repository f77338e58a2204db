"""Config path resolution shared by the tools and the distillers."""
from __future__ import annotations

import difflib
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


def resolve_config_path(path: str, base_dir: str | None = None) -> str:
    """Turn a config reference into an existing file path.

    Args:
        path: ``mmdet::retinanet/...py``, ``kd::quickstart/...py``, an
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
                f'config "{path}" not found (looked at {full}).{_suggest(full)}')
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
        f'{_suggest(candidates[0])}')
