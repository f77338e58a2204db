"""tools/train.py --resume continues from the last checkpoint (torch >= 2.6, weights_only)."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.test_configs.test_quickstart import _tiny_det_overrides

pytest.importorskip('mmdet')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _train(opts, *extra):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools/train.py'),
                           'configs/baselines/retinanet_student_digits.py', *extra,
                           '--cfg-options'] + opts, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_interrupted_training_resumes(tiny_digits_det, tmp_path):
    base = _tiny_det_overrides(tiny_digits_det, tmp_path, iters=2)
    base += ['default_hooks.checkpoint.interval=2', 'train_cfg.val_interval=100']
    first = _train(base)
    assert first.returncode == 0, first.stderr[-3000:]
    assert osp.isfile(tmp_path / 'iter_2.pth')
    longer = [o for o in base if not o.startswith('train_cfg.max_iters')]
    second = _train(longer + ['train_cfg.max_iters=4'], '--resume')
    out = second.stdout + second.stderr
    assert second.returncode == 0, out[-3000:]
    assert 'resumed' in out.lower() or 'Load checkpoint from' in out
    assert 'Iter(train) [3/4]' in out and 'Iter(train) [1/4]' not in out
    assert osp.isfile(tmp_path / 'iter_4.pth')
