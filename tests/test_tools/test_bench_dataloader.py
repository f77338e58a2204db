"""tools/analysis_tools/bench_dataloader.py: one row per transport, in child processes."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    'bench_dataloader', ROOT / 'tools' / 'analysis_tools' / 'bench_dataloader.py')
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)

CONFIG = str(ROOT / 'configs' / 'baselines' / 'resnet_student_digits_cls.py')


def test_table_rows(capsys):
    tool.main([CONFIG, '--batches', '2', '--strategies', 'file_system', '--no-workers'])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[:2] == ['| loader | ms / batch |', '|---|---|']
    assert lines[2].startswith('| 2 workers, file_system | ')
    assert lines[3].startswith('| no workers | ')
    assert all(float(row.split('|')[2]) > 0 for row in lines[2:])


def test_failure_names_the_strategy():
    with pytest.raises(SystemExit, match='with no_such_strategy failed'):
        tool.measure(CONFIG, 'no_such_strategy', 1)
