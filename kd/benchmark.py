"""Benchmark reports shared by ``tools/analysis_tools/benchmark.py`` and ``benchmark_all.py``.

``benchmark.py`` measures one recipe and writes a result dict (``times_ms``,
``memory``, ``overhead_ratio``, ...); these helpers turn such results into the
Markdown rows both tools print.
"""
from __future__ import annotations

import os.path as osp
from typing import Any


def fmt(value: float | None, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals, or ``-`` when it was not measured."""
    return '-' if value is None else f'{value:.{digits}f}'


def summary_row(result: dict[str, Any]) -> str:
    """One Markdown table row (see ``SUMMARY_HEADER``)."""
    t = result['times_ms']
    mem = result['memory']['kinds']

    def med(kind):
        return t[kind]['median'] if kind in t else None

    def spread(kind):
        return f' ± {t[kind]["iqr"] / 2:.1f}' if kind in t else ''

    name = osp.splitext(osp.basename(result['config']))[0]
    extra = ' '.join(result['cfg_options'])
    h, w = result['input_size']
    return (f'| {name}{f" ({extra})" if extra else ""} | {result["batch_size"]} | {h}x{w} | '
            f'{fmt(med("student"))}{spread("student")} | {fmt(med("teacher"))}'
            f'{spread("teacher")} | {fmt(med("naive_teacher"))} | {fmt(med("distill"))}'
            f'{spread("distill")} | {fmt(result["overhead_ratio"], 2)} | '
            f'{fmt(mem.get("distill", {}).get("growth_mib"))} |')


SUMMARY_HEADER = ('| recipe | batch | input | student ms | teacher ms | naive teacher ms | '
                  'distill ms | overhead | distill mem MiB |\n'
                  '|---|---|---|---|---|---|---|---|---|')
