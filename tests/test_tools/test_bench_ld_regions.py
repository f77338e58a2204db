"""tools/analysis_tools/bench_ld_regions.py: LD's region timing against the boxes."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    'bench_ld_regions', ROOT / 'tools' / 'analysis_tools' / 'bench_ld_regions.py')
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


def test_anchor_count_of_a_96px_canvas():
    # one anchor per cell, strides 8..128 on 96 px: 12^2 + 6^2 + 3^2 + 2^2 + 1^2
    anchors, counts = tool.anchors_for(96)
    assert counts == [144, 36, 9, 4, 1]
    assert tuple(anchors.shape) == (194, 4)


def test_table(capsys):
    tool.main(['--boxes', '2', '5', '--batch', '2', '--repeats', '1'])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith('| boxes per image |')
    rows = [line.split('|')[1:-1] for line in lines[2:]]
    assert [int(r[0]) for r in rows] == [2, 5]
    assert [int(r[2]) for r in rows] == [2 * 194 * 2, 2 * 194 * 5]
    assert all(float(r[3]) >= 0 for r in rows)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='boxes, batch and repeats must be >= 1'):
        tool.time_regions(0)
