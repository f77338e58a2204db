"""kd.zoo.runs: finished runs are found and reused, never retrained."""
import json
import os
from pathlib import Path

import pytest

from kd.zoo import describe, final_metrics, mean_std, run_grid, scale, train
from kd.zoo.runs import run_name


def _finished_run(work_dir: Path, rows, done=True):
    vis = work_dir / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    if done:
        (work_dir / 'DONE').write_text(json.dumps(dict(minutes=1.0)))


def test_final_metrics_is_the_last_validation_row(tmp_path):
    _finished_run(tmp_path, [{'loss': 1.0, 'step': 1}, {'coco/bbox_mAP': 0.3, 'step': 1},
                             {'loss': 0.5, 'step': 2}, {'coco/bbox_mAP': 0.4, 'step': 2}])
    assert final_metrics(str(tmp_path))['coco/bbox_mAP'] == 0.4
    assert final_metrics(str(tmp_path), 'accuracy/top1') is None
    assert final_metrics(str(tmp_path / 'missing')) is None


def test_a_finished_run_is_reused(tmp_path, monkeypatch):
    _finished_run(tmp_path, [{'coco/bbox_mAP': 0.4, 'step': 1}])

    def no_training(*args, **kwargs):
        raise AssertionError('a finished run must not be trained again')
    monkeypatch.setattr('subprocess.Popen', no_training)
    assert train('x', 'configs/x.py', str(tmp_path), [])['coco/bbox_mAP'] == 0.4


def test_run_grid_reads_each_seed_in_percent(tmp_path, monkeypatch):
    monkeypatch.setattr('subprocess.Popen', None)      # nothing may be started
    config = 'configs/cwd/cwd_retinanet_digits.py'
    for seed, value in ((0, 0.40), (1, 0.44)):
        _finished_run(tmp_path / run_name(config, seed), [{'coco/bbox_mAP': value}])
    assert run_name(config, 1) == 'cwd_retinanet_digits_seed1'
    got = run_grid([config], [0, 1], 2, str(tmp_path), 'coco/bbox_mAP')
    assert got == {config: [pytest.approx(40.0), pytest.approx(44.0)]}


def test_a_failed_run_says_where_its_log_is(tmp_path, monkeypatch):
    config = tmp_path / 'broken.py'
    config.write_text('raise RuntimeError("broken on purpose")\n')
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    with pytest.raises(SystemExit, match='train_output.log'):
        train('broken', str(config), str(tmp_path / 'run'), [])
    assert os.path.isfile(tmp_path / 'run' / 'train_output.log')


def test_small_helpers():
    assert describe('configs/cwd/cwd_retinanet_digits.py')
    assert scale('coco/bbox_mAP') == 100.0 and scale('accuracy/top1') == 1.0
    assert mean_std([40.0, 44.0]) == '42.0 ± 2.8' and mean_std([40.0]) == '40.0'


def test_describe_keeps_a_wrapped_clause_and_cuts_outside_parentheses(tmp_path):
    config = tmp_path / 'recipe.py'
    config.write_text("# MGD (masked generative distillation, Yang et al. ECCV 2022) on the\n"
                      "# encoder's three outputs: alpha 2e-5. More text.\n"
                      "_base_ = ['x.py']\n# a later comment: not read\n")
    assert describe(str(config)) == ("MGD (masked generative distillation, Yang et al. "
                                     "ECCV 2022) on the encoder's three outputs")
    config.write_text("_base_ = ['x.py']\n# CWD on the three FPN levels\n")
    assert describe(str(config)) == 'CWD on the three FPN levels'
    config.write_text("# Workflow: stop distillation. KD (tau 4), then none.\n")
    assert describe(str(config)) == 'Workflow: stop distillation'
