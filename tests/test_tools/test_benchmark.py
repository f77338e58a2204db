"""tools/analysis_tools/benchmark.py and benchmark_all.py on tiny settings."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip('mmdet')


def _tool(name):
    spec = importlib.util.spec_from_file_location(
        name, ROOT / 'tools' / 'analysis_tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_detection_recipe_all_kinds_entries_memory_and_json(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    bench = _tool('benchmark')
    out = tmp_path / 'fgd.json'
    bench.main(['configs/fgd/fgd_retinanet_digits.py', '--iters', '2', '--warmup', '1',
                '--repeats', '2', '--batch-size', '2', '--input-size', '64', '64',
                '--boxes', '3', '--out', str(out), '--cfg-options',
                'model.distill.fpn.levels=[0,1]'])
    result = json.loads(out.read_text())
    assert result['task'] == 'detection' and result['boxes_per_image'] == 3
    assert result['batch_size'] == 2 and result['input_size'] == [64, 64]
    assert result['cfg_options'] == ['model.distill.fpn.levels=[0,1]']
    assert set(result['times_ms']) == {'student', 'teacher', 'naive_teacher', 'distill'}
    for stats in list(result['times_ms'].values()) + list(result['entry_times_ms'].values()):
        assert stats['n'] == 4 and len(stats['repeat_medians']) == 2
        assert stats['min'] <= stats['q1'] <= stats['median'] <= stats['q3'] <= stats['max']
    assert set(result['entry_times_ms']) == {'fpn'}
    t = result['times_ms']
    assert result['overhead_ratio'] == pytest.approx(
        t['distill']['median'] / (t['student']['median'] + t['teacher']['median']))
    memory = result['memory']
    assert memory['method'] in ('fork', 'inline')
    assert all(memory['kinds'][k]['growth_mib'] >= 0 for k in t)
    assert not result['errors']
    row = capsys.readouterr().out.strip()
    assert row.startswith('| fgd_retinanet_digits (model.distill.fpn.levels=[0,1]) | 2 | 64x64 |')


def test_classification_recipe_inline_memory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    bench = _tool('benchmark')
    out = tmp_path / 'kd.json'
    bench.main(['configs/kd/kd_resnet_digits_cls.py', '--iters', '1', '--warmup',
                '1', '--repeats', '1', '--batch-size', '4', '--memory', 'inline',
                '--out', str(out)])
    result = json.loads(out.read_text())
    assert result['task'] == 'classification' and result['boxes_per_image'] is None
    assert result['input_size'] == [32, 32] and result['memory']['method'] == 'inline'
    assert set(result['entry_times_ms']) == {'logits'}


def test_benchmark_all_plans_sweeps_and_writes_tables(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    bench_all = _tool('benchmark_all')
    args = bench_all.parse_args(['--out-dir', str(tmp_path)])
    runs = bench_all.plan(args)
    names = [name for _, name, _ in runs]
    assert 'cwd_retinanet_digits' in names and 'kd_resnet_digits_cls' in names
    assert 'fgd_retinanet_digits' in names and 'ld_gfl_digits' in names
    assert 'detr_kd_dino_digits' in names
    assert not any('student' in n or 'teacher_digits' in n for n in names
                   if '.' not in n), 'base configs are not distillation recipes'
    assert [n for n in names if '.batch' in n] == [
        f'cwd_retinanet_digits.batch{b}' for b in (1, 2, 4, 8, 16)]
    levels = {n: a for _, n, a in runs if '.levels' in n}
    assert levels['cwd_retinanet_digits.levels2'][-1] == 'model.distill.fpn.levels=[0,1]'
    assert [n for n in names if '.boxes' in n] == [
        f'fgd_retinanet_digits.boxes{k}' for k in (10, 100, 1000)]

    # tables from a saved result, between the markers of an existing page
    result = dict(
        config='configs/cwd/cwd_retinanet_digits.py', cfg_options=[],
        timestamp='2025-01-01T00:00:00', batch_size=16, input_size=[96, 96],
        boxes_per_image=10, iters=20, warmup=5, repeats=5,
        host=dict(device='cpu', device_name='x86_64', torch='2', threads=1,
                  load_average=[1.0, 1.0, 1.0]),
        times_ms={k: dict(median=m, iqr=1.0) for k, m in
                  (('student', 70.0), ('teacher', 30.0), ('naive_teacher', 60.0),
                   ('distill', 110.0))},
        entry_times_ms={'fpn': dict(median=3.0)}, overhead_ratio=1.1,
        memory=dict(method='fork', kinds={'distill': dict(growth_mib=100.0)}))
    doc = tmp_path / 'benchmark.md'
    doc.write_text(f'# Benchmark\n\nintro\n\n{bench_all.BEGIN}\nold\n{bench_all.END}\n\nend\n')
    bench_all.write_doc(str(doc), bench_all.tables({
        'recipes': [('cwd_retinanet_digits', result)],
        'batch': [('cwd_retinanet_digits.batch16', result)],
        'boxes': [('x', dict(failed=True, config='configs/fgd/fgd_retinanet_digits.py'))]}))
    text = doc.read_text()
    assert text.startswith('# Benchmark\n\nintro\n\n') and text.endswith('\n\nend\n')
    assert 'old' not in text
    assert ('| cwd_retinanet_digits | 16 | 96x96 | 70.0 ± 0.5 | 30.0 ± 0.5 | 60.0 | '
            '110.0 ± 0.5 | 1.10 | 100.0 | fpn 3.0 |') in text
    assert '| 16 | 70.0 | 30.0 | 110.0 | 3.0 | 1.10 | 100.0 |' in text
    assert 'Failed runs: x (configs/fgd/fgd_retinanet_digits.py)' in text
