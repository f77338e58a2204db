"""kd: a knowledge-distillation toolbox for detection and classification."""
from .utils.atomic import install_atomic_saves as _install_atomic_saves
from .utils.checkpoint import install_safe_globals as _install_safe_globals
from .utils.setup_env import enable_kd_config_paths as _enable_kd_config_paths
from .version import __version__  # noqa: F401

# Importing kd installs the checkpoint allowlist that lets MMEngine resume its
# own checkpoints on torch >= 2.6 (weights_only=True by default), and enables
# `kd::` config paths, and makes checkpoint writes atomic (kd/utils/atomic.py).
_install_safe_globals()
_install_atomic_saves()
_enable_kd_config_paths()
