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


def test_online_teacher_training_step_cpu_clock_and_flops(tmp_path, monkeypatch):
    """A trainable teacher gets a teacher_train kind, the floor of its overhead ratio;
    --clock cpu times with process_time; --flops counts one iteration of every kind."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    monkeypatch.chdir(ROOT)
    bench = _tool('benchmark')
    assert bench.CLOCKS['cpu'] is bench.time.process_time
    out = tmp_path / 'online.json'
    bench.main(['configs/kd/online_kd_resnet_digits_cls.py', '--iters', '1', '--warmup', '1',
                '--repeats', '1', '--batch-size', '4', '--memory', 'off', '--clock', 'cpu',
                '--flops', '--out', str(out)])
    result = json.loads(out.read_text())
    t = result['times_ms']
    assert result['clock'] == 'cpu'
    assert set(t) == {'student', 'teacher', 'teacher_train', 'naive_teacher', 'distill'}
    assert result['overhead_basis'] == 'student + teacher_train'
    assert result['overhead_ratio'] == pytest.approx(
        t['distill']['median'] / (t['student']['median'] + t['teacher_train']['median']))
    flops = result['flops']['kinds']
    # the distill step trains both networks: its matmul/conv work is the two training steps
    assert flops['distill'] == pytest.approx(flops['student'] + flops['teacher_train'],
                                             rel=1e-3)
    assert flops['teacher_train'] > 2 * flops['teacher'] > 0
    assert result['flops']['ratio'] == pytest.approx(
        flops['distill'] / (flops['student'] + flops['teacher_train']))
    # independent count of the student's step on the same batch
    cfg, model = bench.build_distiller('configs/kd/online_kd_resnet_digits_cls.py', [])
    model.train()
    inputs, samples = bench.make_batch(model, False, 4, [32, 32], 0, torch.device('cpu'))
    with FlopCounterMode(display=False) as counter:
        loss, _ = model.student.parse_losses(model.student(inputs, samples, mode='loss'))
        loss.backward()
    assert flops['student'] == pytest.approx(counter.get_total_flops() / 1e9, rel=1e-6)


def test_time_iters_uses_the_given_clock():
    bench = _tool('benchmark')
    ticks = iter([0.0, 0.002, 1.0, 1.005])
    out = bench.time_iters(lambda: None, 2, bench.torch.device('cpu'), clock=lambda: next(ticks))
    assert out == pytest.approx([2.0, 5.0])


def test_scaling_sweep_plan_table_and_plot(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    bench_all = _tool('benchmark_all')
    args = bench_all.parse_args(['--sweeps', 'scaling', '--clock', 'cpu', '--flops'])
    runs = bench_all.plan(args)
    names = [n for _, n, _ in runs]
    assert names[:6] == [f'cwd_retinanet_digits.scale_batch{b}' for b in (8, 16, 32)] + [
        f'cwd_retinanet_digits.scale_size{s}' for s in (96, 192, 384)]
    assert [n for n in names if n.startswith('detr_kd_dino_digits')] == [
        f'detr_kd_dino_digits.scale_boxes{k}' for k in (4, 30, 100)]
    size = dict((n, a) for _, n, a in runs)['fgd_retinanet_digits.scale_size192']
    assert size == ['configs/fgd/fgd_retinanet_digits.py', '--batch-size', '16',
                    '--input-size', '192', '192']
    assert bench_all.scaling_axis('ld_gfl_digits.scale_boxes30') == 'boxes'
    assert bench_all.scaling_axis('cwd_retinanet_digits.batch16') is None

    def result(batch, px, boxes, distill):
        return dict(config='configs/fgd/fgd_retinanet_digits.py', batch_size=batch,
                    input_size=[px, px], boxes_per_image=boxes, overhead_ratio=distill / 100,
                    times_ms={'student': dict(median=70.0), 'teacher': dict(median=30.0),
                              'distill': dict(median=distill)},
                    entry_times_ms={'fpn': dict(median=distill / 10)})
    rows = [('fgd_retinanet_digits.scale_boxes30', result(16, 96, 30, 120.0)),
            ('fgd_retinanet_digits.scale_boxes4', result(16, 96, 4, 110.0)),
            ('fgd_retinanet_digits.scale_size192', result(16, 192, 10, 440.0))]
    points = bench_all.scaling_points(rows)
    assert [p['x'] for p in points[('fgd_retinanet_digits', 'boxes')]] == [4, 30]
    table = bench_all.scaling_table(rows)
    assert '| fgd_retinanet_digits | boxes per image | 4 | 70.0 | 30.0 | 110.0 | 11.0 | 1.10 | ' \
        '1.00 |' in table
    assert '| fgd_retinanet_digits | boxes per image | 30 | 70.0 | 30.0 | 120.0 | 12.0 | 1.20 | ' \
        '1.09 |' in table
    png = tmp_path / 'scaling.png'
    bench_all.plot_scaling(rows, str(png))
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
