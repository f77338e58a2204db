"""tools/analysis_tools/get_flops.py counts student and teacher of a recipe without weights."""
import os.path as osp
import subprocess
import sys

import pytest

pytest.importorskip('mmdet')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_get_flops_on_a_recipe_needs_no_checkpoint():
    res = subprocess.run([sys.executable, osp.join(ROOT, 'tools/analysis_tools/get_flops.py'),
                          'configs/cwd/cwd_retinanet_digits.py'], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = {line.split()[0]: line.split()[1:] for line in res.stdout.splitlines()[1:]}
    assert float(rows['teacher'][0]) > 3 * float(rows['student'][0])   # params (M)
    assert float(rows['student'][1]) > 0                                 # GFLOPs
