"""tools/analysis_tools/cifar100_row.py: a RepDistiller teacher checkpoint in, a table row out."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kd.zoo.cifar import format_row, write_row
from kd.zoo.runs import best_metric
from tests.test_configs.test_cifar100_recipes import _one_epoch_opts, tiny_cifar100  # noqa: F401
from tests.test_tools.test_repdistiller_converter import _kd_model, _to_repdistiller

ROOT = Path(__file__).resolve().parents[2]


def _scalars(work_dir: Path, rows):
    path = work_dir / '20261203_000000' / 'vis_data'
    path.mkdir(parents=True)
    (path / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in rows))


def test_best_metric_is_the_maximum_over_validations(tmp_path):
    _scalars(tmp_path, [{'loss': 2.0, 'step': 1}, {'accuracy/top1': 0.41, 'step': 1},
                        {'accuracy/top1': 0.47, 'step': 2}, {'accuracy/top1': 0.45, 'step': 3}])
    assert best_metric(str(tmp_path), 'accuracy/top1') == pytest.approx(0.47)
    assert best_metric(str(tmp_path), 'coco/bbox_mAP') is None


def test_row_format_and_replacement(tmp_path):
    row = dict(recipe='configs/kd/a_cifar100.py', teacher_top1=79.42, per_seed=[73.1, 73.5],
               mean_std='73.3 ± 0.3', seeds=[0, 1], minutes=[10.0, 12.0])
    assert format_row(row) == ('| `configs/kd/a_cifar100.py` | 79.42 | 73.3 ± 0.3 | '
                               '73.10 / 73.50 | 0, 1 | 11.0 |')
    out = tmp_path / 'rows.md'
    write_row(str(out), row)
    write_row(str(out), dict(row, recipe='configs/dkd/b_cifar100.py'))
    write_row(str(out), dict(row, mean_std='74.0 ± 0.1'))      # same recipe: replaced
    lines = out.read_text().splitlines()
    assert lines[0].startswith('| recipe | teacher top-1 |') and len(lines) == 4
    assert lines[2].startswith('| `configs/dkd/b_cifar100.py`')
    assert '74.0 ± 0.1' in lines[3] and lines[3].startswith('| `configs/kd/a_cifar100.py`')


def test_reproduces_a_row_from_a_repdistiller_teacher(tiny_cifar100, tmp_path):  # noqa: F811
    """The RepDistiller ResNet-56 checkpoint is converted, loaded strictly as the teacher,
    and the recipe trains per seed (one epoch on 8 images here); finished runs are reused."""
    model = _kd_model('resnet56')
    g = torch.Generator().manual_seed(0)
    def value(k, v):
        if not v.is_floating_point():
            return v.clone()
        if k.endswith('running_var'):      # a variance: positive
            return torch.rand(v.shape, generator=g) + 0.5
        return 0.1 * torch.randn(v.shape, generator=g)
    state = {'module.' + _to_repdistiller(k, 'resnet'): value(k, v)
             for k, v in model.state_dict().items()}
    src = tmp_path / 'cifar_teachers' / 'resnet56_vanilla' / 'ckpt_epoch_240.pth'
    src.parent.mkdir(parents=True)
    torch.save({'model': state, 'epoch': 240}, src)
    opts = [o for o in _one_epoch_opts(tmp_path / 'unused', tiny_cifar100)
            if not o.startswith('work_dir=')]
    out = tmp_path / 'rows.md'
    cmd = [sys.executable, str(ROOT / 'tools/analysis_tools/cifar100_row.py'),
           'configs/kd/kd_resnet56_resnet20_cifar100.py', '--teacher-ckpt', str(src),
           '--seeds', '0', '1', '--work-dir', str(tmp_path / 'runs'), '--out', str(out),
           '--cfg-options'] + opts
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    converted = torch.load(tmp_path / 'runs' / 'teacher' / 'resnet56_cifar100.pth',
                           weights_only=True)['state_dict']
    assert torch.equal(converted['backbone.layer1.0.conv1.weight'],
                       state['module.layer1.0.conv1.weight'])
    row = out.read_text().splitlines()[-1].split(' | ')
    assert row[0] == '| `configs/kd/kd_resnet56_resnet20_cifar100.py`'
    per_seed = [float(v) for v in row[3].split(' / ')]
    for seed, value in zip((0, 1), per_seed):
        run = tmp_path / 'runs' / f'kd_resnet56_resnet20_cifar100_seed{seed}'
        assert (run / 'DONE').is_file()
        assert value == pytest.approx(100 * best_metric(str(run), 'accuracy/top1'), abs=0.006)
    assert row[4] == '0, 1' and row[1] != '-'   # DistillValLoop's teacher/accuracy/top1
    # a second call reuses the finished runs
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and res.stdout.count('finished earlier, reusing') == 2


def test_missing_teacher_says_what_to_do(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / 'tools/analysis_tools/cifar100_row.py'),
                          'configs/kd/kd_resnet56_resnet20_cifar100.py', '--work-dir',
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    assert '--teacher-ckpt' in res.stderr and '--train-teacher' in res.stderr
