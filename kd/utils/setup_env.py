"""Environment set-up: registries and ``kd::`` config paths."""
from __future__ import annotations

import datetime
import warnings

from mmengine import DefaultScope


def enable_kd_config_paths() -> None:
    """Let MMEngine resolve ``kd::path/to/config.py`` like ``mmdet::...``.

    MMEngine only accepts ``pkg::`` prefixes listed in its ``MODULE2PACKAGE``
    table; ``kd`` adds itself there.  The configs are found through
    ``kd/.mim/configs`` (a link to the repository's ``configs/``).
    """
    import os.path as osp

    from mmengine.config import config as cfg_config
    from mmengine.config import utils as cfg_utils
    cfg_utils.MODULE2PACKAGE.setdefault('kd', 'kd')
    original = cfg_config.get_installed_path
    if getattr(original, '_kd_aware', False):
        return
    kd_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))

    def get_installed_path(package: str) -> str:
        # an editable install records site-packages as the location of kd;
        # the configs live beside the real package directory
        if package == 'kd':
            return kd_dir
        return original(package)

    get_installed_path._kd_aware = True  # type: ignore[attr-defined]
    cfg_config.get_installed_path = get_installed_path


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every ``kd`` module so that all its types are registered.

    Args:
        init_default_scope: make ``kd`` the default scope (as
            ``mmdet.utils.register_all_modules`` does for mmdet).
    """
    import kd.connectors  # noqa: F401
    import kd.datasets  # noqa: F401
    import kd.distillers  # noqa: F401
    import kd.engine  # noqa: F401
    import kd.evaluation  # noqa: F401
    import kd.hooks  # noqa: F401
    import kd.losses  # noqa: F401
    import kd.models  # noqa: F401
    import kd.recorders  # noqa: F401

    if init_default_scope:
        never_created = (DefaultScope.get_current_instance() is None
                         or not DefaultScope.check_instance_created('kd'))
        if never_created:
            DefaultScope.get_instance('kd', scope_name='kd')
            return
        current = DefaultScope.get_current_instance()
        if current.scope_name != 'kd':
            warnings.warn(f'The current default scope "{current.scope_name}" '
                          'is not "kd"; `register_all_modules` will force the '
                          'current default scope to be "kd".')
            new_name = f'kd-{datetime.datetime.now()}'
            DefaultScope.get_instance(new_name, scope_name='kd')
