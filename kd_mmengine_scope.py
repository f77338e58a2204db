"""Let MMEngine resolve ``kd::`` config paths without ``import kd`` first.

MMEngine accepts a ``pkg::path`` config prefix only for the packages in its
hard-coded ``mmengine.config.utils.MODULE2PACKAGE``. ``import kd`` adds
``'kd'`` there, but a user who only runs
``from mmengine.hub import get_config; get_config('kd::...')`` never imports
kd. The ``kd-mmengine-scope.pth`` file that the kd wheel installs beside this
module imports it at interpreter start; it imports nothing heavy (no torch, no
mmengine): it waits, through an import hook, until ``mmengine.config.utils`` is
imported and then adds the ``kd`` entry, exactly as ``import kd`` would
(``kd.utils.setup_env.enable_kd_config_paths``). For an editable install it also
makes ``get_installed_path('kd')`` of ``mmengine.config.config`` and
``mmengine.hub.hub`` return the real
package directory (pip records site-packages as its location), where
``kd/.mim/configs`` lives.
"""
import sys


def register(module) -> None:
    """Add ``kd`` to a loaded ``mmengine.config.utils`` module's package table."""
    table = getattr(module, 'MODULE2PACKAGE', None)
    if isinstance(table, dict):
        table.setdefault('kd', 'kd')


def patch_installed_path(module) -> None:
    """Make a loaded ``mmengine.config.config`` find kd's real package directory."""
    original = getattr(module, 'get_installed_path', None)
    if original is None or getattr(original, '_kd_aware', False):
        return

    def get_installed_path(package: str) -> str:
        if package == 'kd':
            import importlib.util
            spec = importlib.util.find_spec('kd')   # finds, does not import
            if spec is not None and spec.submodule_search_locations:
                return list(spec.submodule_search_locations)[0]
        return original(package)

    get_installed_path._kd_aware = True   # kd.utils.setup_env leaves it alone then
    module.get_installed_path = get_installed_path


_TARGETS = {'mmengine.config.utils': register,
            'mmengine.config.config': patch_installed_path,   # Config.fromfile
            'mmengine.hub.hub': patch_installed_path}         # get_config / get_model


class _AfterMMEngineConfigUtils:
    """A meta-path finder that finds nothing itself: it wraps the real loader of
    ``mmengine.config.utils`` (no ``importlib.abc`` base: it would cost every
    interpreter start tens of milliseconds)."""

    def find_spec(self, name, path, target=None):
        after = _TARGETS.get(name)
        if after is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, 'exec_module'):
            return spec
        exec_module = loader.exec_module

        def exec_and_register(module):
            exec_module(module)
            after(module)

        loader.exec_module = exec_and_register   # this spec's own loader instance
        return spec


def install() -> None:
    for name, after in _TARGETS.items():
        if name in sys.modules:
            after(sys.modules[name])
    if not all(name in sys.modules for name in _TARGETS) and \
            not any(isinstance(f, _AfterMMEngineConfigUtils) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterMMEngineConfigUtils())


install()
