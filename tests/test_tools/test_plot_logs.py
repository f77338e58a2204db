"""tools/analysis_tools/plot_logs.py reads MMEngine's scalars.json and draws every panel."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location(
        'plot_logs', ROOT / 'tools' / 'analysis_tools' / 'plot_logs.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_run(work_dir: Path, rows, stamp='20250101_000000'):
    path = work_dir / stamp / 'vis_data' / 'scalars.json'
    path.parent.mkdir(parents=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return path


def _rows(scale=1.0):
    rows = []
    for it in (10, 20, 30):
        rows.append({'lr': 0.001, 'data_time': 0.01, 'loss': 3.0 * scale / it,
                     'student.loss_cls': scale / it, 'student.loss_bbox': 0.5 * scale / it,
                     'distill.fpn': 2 * scale / it, 'distill.head': 0.1 * it,
                     'factor.fpn': it / 30, 'time': 0.1, 'iter': it, 'step': it})
        if it == 20:  # validation after iteration 20 (MMEngine logs step = epoch = 0)
            rows.append({'teacher/coco/bbox_mAP': 0.6, 'coco/bbox_mAP': 0.3 * scale,
                         'coco/bbox_mAP_50': 0.5, 'coco/bbox_mAP_l': -1.0, 'data_time': 0.01,
                         'time': 0.05, 'step': 0})
    rows.append({'teacher/coco/bbox_mAP': 0.6, 'coco/bbox_mAP': 0.4 * scale,
                 'coco/bbox_mAP_50': 0.6, 'coco/bbox_mAP_l': -1.0, 'step': 0})
    return rows


def test_parsed_series_equal_the_input(tmp_path):
    tool = _tool()
    path = _write_run(tmp_path / 'run_a', _rows())
    assert tool.scalar_files(str(tmp_path / 'run_a')) == [str(path)]
    train, val = tool.load_scalars([str(path)])
    assert train['student.loss_cls'] == ([10.0, 20.0, 30.0], [1 / 10, 1 / 20, 1 / 30])
    assert train['distill.head'] == ([10.0, 20.0, 30.0], [1.0, 2.0, 3.0])
    assert train['factor.fpn'] == ([10.0, 20.0, 30.0], [1 / 3, 2 / 3, 1.0])
    assert 'iter' not in train and 'step' not in train
    # validation rows sit at the last training iteration logged before them
    assert val['coco/bbox_mAP'] == ([20.0, 30.0], [0.3, 0.4])
    assert val['teacher/coco/bbox_mAP'] == ([20.0, 30.0], [0.6, 0.6])

    panels = dict(tool.group_keys(train, val))
    assert panels['student task losses'] == [('train', 'student.loss_cls'),
                                             ('train', 'student.loss_bbox')]
    assert panels['distill.fpn'] == [('train', 'distill.fpn')]
    assert panels['distill.head'] == [('train', 'distill.head')]
    assert panels['schedule factors (factor.*)'] == [('train', 'factor.fpn')]
    assert set(panels['validation metrics']) == {
        ('val', 'coco/bbox_mAP'), ('val', 'coco/bbox_mAP_50'), ('val', 'teacher/coco/bbox_mAP')}
    assert 'other' not in panels


def test_resumed_run_later_values_win(tmp_path):
    tool = _tool()
    _write_run(tmp_path / 'run', _rows()[:2], stamp='20250101_000000')
    _write_run(tmp_path / 'run', [{'student.loss_cls': 7.0, 'iter': 20, 'step': 20},
                                  {'student.loss_cls': 8.0, 'iter': 40, 'step': 40}],
               stamp='20250102_000000')
    train, _ = tool.load_scalars(tool.scalar_files(str(tmp_path / 'run')))
    assert train['student.loss_cls'] == ([10.0, 20.0, 40.0], [0.1, 7.0, 8.0])


def test_png_written_for_several_runs(tmp_path, capsys):
    tool = _tool()
    _write_run(tmp_path / 'a' / 'cwd_seed0', _rows())
    _write_run(tmp_path / 'b' / 'cwd_seed0', _rows(2.0))
    out = tmp_path / 'plots' / 'curves.png'
    titles = tool.main([str(tmp_path / 'a' / 'cwd_seed0'), str(tmp_path / 'b' / 'cwd_seed0'),
                        '--out', str(out)])
    assert out.is_file() and out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert titles == ['student task losses', 'distill.fpn', 'distill.head',
                      'schedule factors (factor.*)', 'validation metrics']
    # same base names: the runs are named by more of their path
    assert tool.run_names([str(tmp_path / 'a' / 'cwd_seed0'), str(tmp_path / 'b' / 'cwd_seed0')]) \
        == ['a/cwd_seed0', 'b/cwd_seed0']
    assert 'panels' in capsys.readouterr().out


def test_keys_select_panels(tmp_path):
    tool = _tool()
    _write_run(tmp_path / 'run', _rows())
    out = tmp_path / 'sel.png'
    titles = tool.main([str(tmp_path / 'run'), '--keys', 'distill.*', 'lr', 'coco/bbox_mAP',
                        '--out', str(out)])
    assert titles == ['distill.fpn', 'distill.head', 'validation metrics', 'other']
    assert out.is_file()
    with pytest.raises(SystemExit, match='nothing to plot'):
        tool.main([str(tmp_path / 'run'), '--keys', 'nope', '--out', str(out)])


def test_missing_scalars_file_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        _tool().scalar_files(str(tmp_path))
