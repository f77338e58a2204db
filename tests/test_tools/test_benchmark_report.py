"""kd.benchmark: the Markdown rows of tools/analysis_tools/benchmark.py and benchmark_all.py."""
from kd.benchmark import SUMMARY_HEADER, fmt, summary_row


def test_fmt():
    assert fmt(None) == '-'
    assert fmt(3.14159) == '3.1' and fmt(3.14159, 2) == '3.14' and fmt(2, 0) == '2'


def test_summary_row_matches_the_header():
    result = dict(
        config='configs/cwd/cwd_retinanet_digits.py', cfg_options=['model.x=1'],
        batch_size=4, input_size=[320, 256], overhead_ratio=1.254,
        times_ms=dict(student=dict(median=10.0, iqr=2.0), teacher=dict(median=5.25, iqr=1.0),
                      distill=dict(median=12.5, iqr=0.4)),
        memory=dict(kinds=dict(distill=dict(growth_mib=7.0))))
    row = summary_row(result)
    assert row == ('| cwd_retinanet_digits (model.x=1) | 4 | 320x256 | 10.0 ± 1.0 | 5.2 ± 0.5 '
                   '| - | 12.5 ± 0.2 | 1.25 | 7.0 |')
    header = SUMMARY_HEADER.split('\n')[0]
    assert row.count('|') == header.count('|') == 10
