"""kd: a knowledge-distillation toolbox for detection and classification.

Importing kd changes nothing in MMEngine's functions. It does two things,
both through public extension points:

* adds MMEngine's own checkpoint types to torch's ``weights_only`` allowlist
  (``torch.serialization.add_safe_globals``; ``kd/utils/checkpoint.py``), so
  MMEngine checkpoints resume on torch >= 2.6;
* adds ``'kd'`` to MMEngine's table of packages that may prefix config paths
  (``mmengine.config.utils.MODULE2PACKAGE``), so ``kd::path/to/config.py``
  resolves like ``mmdet::...`` (``kd/utils/setup_env.py``).

Atomic checkpoint writes are a hook that configs select
(``kd.AtomicCheckpointHook``), not a change made on import.
"""
from .utils.checkpoint import install_safe_globals as _install_safe_globals
from .utils.setup_env import enable_kd_config_paths as _enable_kd_config_paths
from .version import __version__  # noqa: F401

_install_safe_globals()
_enable_kd_config_paths()
