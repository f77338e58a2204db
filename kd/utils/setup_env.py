"""Environment set-up: registries and ``kd::`` config paths."""
from __future__ import annotations

import datetime
import warnings

from mmengine import DefaultScope


def enable_kd_config_paths() -> None:
    """Let MMEngine resolve ``kd::path/to/config.py`` like ``mmdet::...``.

    MMEngine accepts a ``pkg::`` prefix only for the modules in its table
    ``mmengine.config.utils.MODULE2PACKAGE`` (module name -> package name);
    this adds the entry ``'kd': 'kd'`` and changes nothing else. MMEngine then
    finds the package directory with ``mmengine.utils.get_installed_path('kd')``:
    kd's distribution is named ``kd-toolbox`` (setup.py), so no distribution
    called ``kd`` exists and MMEngine takes its documented fallback, the
    directory Python imports ``kd`` from (``importlib.util.find_spec``). That is
    the repository's ``kd/`` for an editable install and site-packages' ``kd/``
    for a wheel; both hold ``.mim/configs`` and ``.mim/model-index.yml``.
    Called on ``import kd`` (and so by :func:`register_all_modules`); idempotent.
    """
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE.setdefault('kd', 'kd')


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every ``kd`` module so that all its types are registered.

    Args:
        init_default_scope: make ``kd`` the default scope (as
            ``mmdet.utils.register_all_modules`` does for mmdet).
    """
    enable_kd_config_paths()
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
