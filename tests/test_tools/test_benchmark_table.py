"""run_benchmark_table.py: the table's columns and numbers from finished runs, and the chart."""
import json
import os
import os.path as osp
import statistics
import subprocess
import sys

import pytest

pytest.importorskip('mmdet')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _finished_run(work_dir, map_, map50):
    vis = osp.join(work_dir, '20260101_000000', 'vis_data')
    os.makedirs(vis)
    with open(osp.join(vis, 'scalars.json'), 'w') as f:
        f.write(json.dumps({'loss': 1.0, 'step': 10}) + '\n')
        f.write(json.dumps({'coco/bbox_mAP': map_, 'coco/bbox_mAP_50': map50, 'step': 1}) + '\n')
    with open(osp.join(work_dir, 'DONE'), 'w') as f:
        json.dump(dict(minutes=1.0), f)


def test_table_and_chart_from_finished_runs(tmp_path):
    values = {'retinanet_student_digits': [(0.40, 0.60), (0.44, 0.64)],
              'cwd_retinanet_digits': [(0.47, 0.70), (0.49, 0.72)]}
    for name, runs in values.items():
        for seed, (m, m50) in enumerate(runs):
            _finished_run(str(tmp_path / f'{name}_seed{seed}'), m, m50)
    out = tmp_path / 'table.md'
    res = subprocess.run([sys.executable, 'tools/analysis_tools/run_benchmark_table.py',
                          '--baseline', 'configs/baselines/retinanet_student_digits.py',
                          '--recipes', 'configs/cwd/cwd_retinanet_digits.py',
                          '--seeds', '0', '1', '--work-dir', str(tmp_path), '--out', str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stderr[-3000:]
    lines = out.read_text().splitlines()
    assert lines[2] == ('| recipe | what | params (M) | GFLOPs | coco/bbox_mAP_50 | '
                        'coco/bbox_mAP | Δ vs baseline |')
    cwd = next(line for line in lines
               if line.startswith('| `configs/cwd/cwd')).split(' | ')
    std = statistics.stdev([47.0, 49.0])
    assert cwd[2] == '0.208' and cwd[4] == '71.0 ± 1.4' and cwd[5] == f'48.0 ± {std:.1f}'
    assert cwd[6].startswith('+6.0')                       # 48.0 - mean(40, 44)
    png = tmp_path / 'table.png'
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b'\x89PNG'
