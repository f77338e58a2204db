"""Environment set-up: registries and ``kd::`` config paths."""
from __future__ import annotations

import datetime
import warnings

from mmengine import DefaultScope


def enable_kd_config_paths() -> None:
    """Let MMEngine resolve ``kd::path/to/config.py`` like ``mmdet::...``.

    MMEngine only accepts ``pkg::`` prefixes listed in its ``MODULE2PACKAGE``
    table; ``kd`` adds itself there, and makes MMEngine's
    ``get_installed_path('kd')`` return the real package directory, where
    ``kd/.mim/configs`` (a link to the repository's ``configs/``) lives (an
    editable install records site-packages instead). ``kd_mmengine_scope``
    holds the patches; its ``.pth`` applies them when nothing imports kd.
    """
    import mmengine.config.config  # noqa: F401
    import mmengine.config.utils  # noqa: F401
    import mmengine.hub.hub  # noqa: F401

    import kd_mmengine_scope  # the same patches the installed .pth applies lazily
    kd_mmengine_scope.install()


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
