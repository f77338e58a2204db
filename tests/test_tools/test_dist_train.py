"""tools/dist_train.sh with 2 CPU processes (gloo): ranks end with identical weights."""
import json
import os
import os.path as osp
import socket
import subprocess

import pytest

from tests.test_configs.test_quickstart import _tiny_det_overrides

pytest.importorskip('mmdet')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def test_dist_train_two_cpu_processes(tiny_digits_det, tmp_path):
    opts = _tiny_det_overrides(tiny_digits_det, tmp_path, iters=3)
    opts += ['train_cfg.val_interval=100']
    env = dict(os.environ, PORT=_port(), OMP_NUM_THREADS='1', PYTHON=os.environ.get(
        'PYTHON', __import__('sys').executable))
    res = subprocess.run(['bash', osp.join(ROOT, 'tools/dist_train.sh'),
                          'configs/baselines/retinanet_student_digits.py', '2',
                          '--cfg-options'] + opts, cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    if res.returncode != 0:
        (tmp_path / 'dist_train.log').write_text(res.stdout + res.stderr)
        # the launcher's summary hides the cause: show each rank's error lines first
        lines = (res.stdout + res.stderr).splitlines()
        errors = [ln for ln in lines if any(k in ln for k in (
            'Error', 'error:', 'terminate', 'Abort', 'Traceback', 'gloo'))]
        pytest.fail('dist_train.sh failed; error lines:\n' + '\n'.join(errors[:40])
                    + '\n--- last output ---\n' + res.stderr[-1500:])
    with open(tmp_path / 'weights_consistency.json') as f:
        result = json.load(f)
    assert result['world_size'] == 2 and result['identical'], result
