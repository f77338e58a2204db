"""A rank that crashes makes the whole distributed run exit with an error, not hang."""
import os
import os.path as osp
import subprocess
import sys
import time

import pytest

from tests.test_configs.test_quickstart import _tiny_det_overrides
from tests.test_tools.test_dist_train import _port

pytest.importorskip('mmdet')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_crash_of_one_rank_ends_the_run(tiny_digits_det, tmp_path):
    opts = _tiny_det_overrides(tiny_digits_det, tmp_path, iters=20)
    opts += ['train_cfg.val_interval=100']
    config = tmp_path / 'crash.py'
    config.write_text("_base_ = ['kd::baselines/retinanet_student_digits.py']\n"
                      "custom_imports = dict(imports=['tests.test_reliability.crash_hook'], "
                      "allow_failed_imports=False)\n"
                      "custom_hooks = [dict(type='CrashOneRankHook', rank=1, at_iter=2)]\n")
    env = dict(os.environ, PORT=_port(), OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PYTHONPATH=ROOT)
    start = time.time()
    res = subprocess.run(['bash', osp.join(ROOT, 'tools/dist_train.sh'),
                          str(config), '2',
                          '--cfg-options'] + opts, cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert 'simulated crash of rank 1' in out
    assert time.time() - start < 240       # torchrun stops the surviving rank
    assert not osp.isfile(tmp_path / 'iter_20.pth')
