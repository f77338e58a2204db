"""tools/demo.py: the teacher check and the gap-closed column, on hand-made runs."""
import importlib.util
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def demo():
    spec = importlib.util.spec_from_file_location('kd_demo_tool', osp.join(ROOT, 'tools/demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.complexity = lambda config: (1.0, 0.1)   # no model build needed here
    return module


def _runs(*maps):
    return [{'coco/bbox_mAP': m / 100, 'coco/bbox_mAP_50': (m + 20) / 100} for m in maps]


def test_gap_closed_is_delta_over_teacher_minus_student(demo):
    rows = [('teacher', 't.py', _runs(60.0)),
            ('student', 's.py', _runs(40.0, 44.0)),            # mean 42
            ('student + cwd', 's.py', _runs(51.0, 53.0))]      # mean 52: +10 of 18
    text, table = demo.results_table(rows, [0, 1], gap=60.0 - 42.0)
    cwd = table[2]
    assert cwd['delta'] == pytest.approx(10.0)
    assert cwd['gap_closed'] == pytest.approx(10.0 / 18.0)
    assert '| student + cwd | 1.00 | 0.10 | 72.0 ± 1.4 | 52.0 ± 1.4 | +10.0 | 56 % |' in text
    assert table[0]['delta'] is None and table[1]['gap_closed'] is None


def test_teacher_check(demo):
    assert demo.teacher_problem(57.0, 43.0, 5.0) is None
    weak = demo.teacher_problem(41.5, 44.0, 5.0)
    assert '41.5' in weak and '44.0' in weak and 'not better' in weak
    assert demo.teacher_problem(47.0, 43.0, 5.0) is not None      # better, but by 4 < 5
    assert 'not evaluated' in demo.teacher_problem(None, 43.0, 5.0)


def test_no_gap_column_when_the_teacher_is_weaker(demo):
    rows = [('teacher', 't.py', _runs(41.5)), ('student', 's.py', _runs(44.0)),
            ('student + cwd', 's.py', _runs(45.0))]
    text, table = demo.results_table(rows, [0], gap=41.5 - 44.0)
    assert table[2]['delta'] == pytest.approx(1.0) and table[2]['gap_closed'] is None
    assert text.splitlines()[-1].endswith('| +1.0 |  |')
