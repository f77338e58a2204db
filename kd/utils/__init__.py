from .checkpoint import install_safe_globals, load_checkpoint_file, safe_globals
from .setup_env import enable_kd_config_paths, register_all_modules

__all__ = ['install_safe_globals', 'load_checkpoint_file', 'safe_globals',
           'enable_kd_config_paths', 'register_all_modules']
