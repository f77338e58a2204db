"""`import kd` changes no MMEngine function, installs no start-up file, and `kd::`
config paths resolve after it through MMEngine's own lookup.

The only MMEngine state kd touches is the documented table
`mmengine.config.utils.MODULE2PACKAGE` (one entry, `'kd': 'kd'`); torch's
`weights_only` allowlist is extended through `torch.serialization.add_safe_globals`.
"""
import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(code, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    return subprocess.run([sys.executable, '-W', 'ignore', '-c', code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


# Every function and class attribute of the MMEngine modules that kd's reliability and
# config-path features are about, by qualified name: where it is defined and its identity.
SNAPSHOT = r'''
import importlib, inspect, json, os.path as osp, sys
import mmengine
MODULES = ['mmengine.fileio', 'mmengine.fileio.io', 'mmengine.fileio.backends',
           'mmengine.fileio.backends.local_backend', 'mmengine.fileio.backends.registry_utils',
           'mmengine.runner', 'mmengine.runner.checkpoint', 'mmengine.runner.runner',
           'mmengine.hooks', 'mmengine.hooks.checkpoint_hook', 'mmengine.config',
           'mmengine.config.config', 'mmengine.config.utils', 'mmengine.hub', 'mmengine.hub.hub',
           'mmengine.utils', 'mmengine.utils.package_utils', 'mmengine.registry']
MMENGINE_DIR = osp.dirname(mmengine.__file__)

def snapshot():
    out = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            out[f'{name}.{attr}'] = id(obj)
            if inspect.isclass(obj) and obj.__module__.startswith('mmengine'):
                for key, member in vars(obj).items():
                    out[f'{name}.{attr}.{key}'] = id(member)
    return out

def foreign():
    """Functions of those modules (and their classes' methods) not defined in mmengine."""
    bad = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            members = [(attr, obj)]
            if inspect.isclass(obj) and obj.__module__.startswith('mmengine'):
                members += [(f'{attr}.{k}', v) for k, v in vars(obj).items()]
            for label, member in members:
                code = getattr(inspect.unwrap(member) if callable(member) else member,
                               '__code__', None)
                if code is not None and not osp.abspath(code.co_filename).startswith(
                        MMENGINE_DIR) and getattr(member, '__module__', '').startswith(
                        'mmengine'):
                    bad.append(f'{name}.{label} -> {code.co_filename}')
    return bad

from mmengine.config.utils import MODULE2PACKAGE
from mmengine.fileio.io import backends, prefix_to_backends
before = snapshot()
tables = (dict(MODULE2PACKAGE), dict(backends), dict(prefix_to_backends))
meta_path = [type(f).__qualname__ for f in sys.meta_path]
foreign_before = foreign()
start_up = [m for m in sys.modules if m.startswith('kd')]
import kd
import kd.utils
kd.utils.register_all_modules(init_default_scope=False)
after = snapshot()
print(json.dumps(dict(
    changed=sorted(k for k in before if after.get(k) != before[k]),
    foreign_before=foreign_before, foreign_after=foreign(),
    module2package_added=sorted(set(MODULE2PACKAGE) - set(tables[0])),
    module2package_kd=MODULE2PACKAGE.get('kd'),
    module2package_changed=sorted(k for k in tables[0] if MODULE2PACKAGE.get(k) != tables[0][k]),
    backends_changed=dict(backends) != tables[1] or dict(prefix_to_backends) != tables[2],
    meta_path_added=[type(f).__qualname__ for f in sys.meta_path if
                     type(f).__qualname__ not in meta_path],
    start_up_kd=start_up,
    find_latest=(lambda f: f'{f.__module__}.{f.__qualname__}')(
        importlib.import_module('mmengine.runner').find_latest_checkpoint),
    put=(lambda f: f'{f.__module__}.{f.__qualname__}')(
        importlib.import_module('mmengine.fileio.backends').LocalBackend.put),
    put_text=(lambda f: f'{f.__module__}.{f.__qualname__}')(
        importlib.import_module('mmengine.fileio.backends').LocalBackend.put_text),
)))
'''


def test_import_kd_leaves_mmengine_functions_untouched(tmp_path):
    res = _python(SNAPSHOT, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    # nothing in a fresh interpreter (start-up files included) replaced an MMEngine function
    assert report['foreign_before'] == []
    # importing kd and registering all its modules replaces none either
    assert report['changed'] == [], report['changed']
    assert report['foreign_after'] == []
    assert report['find_latest'] == 'mmengine.runner.checkpoint.find_latest_checkpoint'
    assert report['put'] == 'mmengine.fileio.backends.local_backend.LocalBackend.put'
    assert report['put_text'] == 'mmengine.fileio.backends.local_backend.LocalBackend.put_text'
    # the one documented table entry, nothing else
    assert report['module2package_added'] == ['kd'] and report['module2package_kd'] == 'kd'
    assert report['module2package_changed'] == []
    assert report['backends_changed'] is False   # the atomic backend comes with its hook
    assert report['meta_path_added'] == [] and report['start_up_kd'] == []


def test_no_start_up_file_is_installed():
    site = Path(sysconfig.get_paths()['purelib'])
    assert not list(site.glob('kd*mmengine*'))   # the old start-up hook and its module
    dist = importlib.metadata.distribution('kd-toolbox')
    pth = [str(f) for f in dist.files or [] if str(f).endswith('.pth')]
    # an editable install's own `__editable__.*.pth` is pip/setuptools' mechanism
    assert [p for p in pth if not Path(p).name.startswith('__editable__.')] == []
    # and nothing any installed `.pth` file runs names kd
    for file in site.glob('*.pth'):
        assert 'kd_mmengine_scope' not in file.read_text(errors='replace'), file


def test_kd_config_paths_resolve_after_import_kd(tmp_path):
    (tmp_path / 'recipe.py').write_text("_base_ = ['kd::_base_/default_runtime_cls.py']\n"
                                        "log_level = 'DEBUG'\n")
    res = _python(
        "import kd\n"
        "from mmengine.config import Config\n"
        "from mmengine.hub import get_config\n"
        "from mmengine.utils import get_installed_path\n"
        "cfg = Config.fromfile('recipe.py')\n"
        "base = get_config('kd::_base_/default_runtime_det.py')\n"
        "print(get_installed_path('kd'), cfg.default_hooks.checkpoint.type, cfg.log_level,\n"
        "      base.default_scope)",
        cwd=tmp_path)   # not the repository: nothing on the path by accident
    assert res.returncode == 0, res.stderr[-3000:]
    import kd
    assert res.stdout.split() == [os.path.dirname(kd.__file__), 'kd.AtomicCheckpointHook',
                                  'DEBUG', 'mmdet']


def test_kd_config_paths_need_kd_imported(tmp_path):
    # as documented: without `import kd` (or kd.utils.register_all_modules()) MMEngine
    # does not know the prefix; kd installs nothing that would run before that
    res = _python("from mmengine.hub import get_config\n"
                  "get_config('kd::_base_/default_runtime_cls.py')", cwd=tmp_path)
    assert res.returncode != 0
    assert 'does not support to load kd config' in res.stderr


def test_wheel_carries_configs_and_no_start_up_file(tmp_path):
    res = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                          '--no-build-isolation', '-w', str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    wheel, = tmp_path.glob('kd_toolbox-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {'kd/.mim/model-index.yml', 'kd/.mim/configs/_base_/default_runtime_cls.py',
            'kd/.mim/configs/cwd/cwd_retinanet_digits.py'} <= names
    assert [n for n in names if n.endswith('.pth')] == []
    assert {n.split('/')[0] for n in names if '.dist-info/' not in n} == {'kd'}
    license_files = [n for n in names if n.endswith('/LICENSE')]
    assert license_files and 'Apache License' in \
        zipfile.ZipFile(wheel).read(license_files[0]).decode()
