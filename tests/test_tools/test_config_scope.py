"""`kd::` config paths resolve in a fresh interpreter that never imports kd.

MMEngine accepts `pkg::` prefixes only for the packages in its hard-coded
MODULE2PACKAGE; `kd-mmengine-scope.pth` (installed by the wheel, and by
tools/install.sh for the editable install) adds kd there lazily.
"""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _python(code, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    return subprocess.run([sys.executable, '-W', 'ignore', '-c', code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_get_config_without_importing_kd(tmp_path):
    import sysconfig
    site = Path(sysconfig.get_paths()['purelib'])
    if not (site / 'kd-mmengine-scope.pth').is_file():
        pytest.skip('kd-mmengine-scope.pth is not installed in this environment '
                    '(tools/install.sh or a wheel install puts it there)')
    res = _python("import sys\n"
                  "from mmengine.hub import get_config\n"
                  "cfg = get_config('kd::quickstart/cwd_retinanet_digits.py')\n"
                  "print(cfg.model.type, cfg.model.distill.fpn.loss.type, 'kd' in sys.modules)",
                  cwd=tmp_path)   # not the repository: nothing on the path by accident
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split()[-3:] == ['kd.SingleTeacherDistiller', 'ChannelWiseDivergence',
                                       'False']


def test_hook_patches_only_after_mmengine_loads(tmp_path):
    # importing the hook module imports nothing heavy; the patches land when MMEngine's
    # config modules load, and the package directory is kd's real one
    res = _python(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import kd_mmengine_scope\n"
        "assert 'mmengine' not in sys.modules and 'torch' not in sys.modules\n"
        "import mmengine.config.utils as u, mmengine.config.config as c, mmengine.hub.hub as h\n"
        "print(u.MODULE2PACKAGE['kd'], c.get_installed_path('kd'), "
        "h.get_installed_path('kd'), c.get_installed_path('mmengine').endswith('mmengine'))",
        cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ['kd', str(ROOT / 'kd'), str(ROOT / 'kd'), 'True']


def test_wheel_carries_the_pth_and_the_hook(tmp_path):
    res = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                          '--no-build-isolation', '-w', str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    wheel, = tmp_path.glob('kd-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {'kd-mmengine-scope.pth', 'kd_mmengine_scope.py', 'kd/.mim/model-index.yml',
            'kd/.mim/configs/quickstart/cwd_retinanet_digits.py'} <= names
    pth = zipfile.ZipFile(wheel).read('kd-mmengine-scope.pth').decode()
    assert pth.startswith('import ') and 'kd_mmengine_scope' in pth
