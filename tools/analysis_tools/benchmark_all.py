"""Run benchmark.py over the digits recipes and the scaling sweeps; write docs/benchmark.md.

    OMP_NUM_THREADS=1 python tools/analysis_tools/benchmark_all.py \\
        [--iters 20 --warmup 5 --repeats 5] [--device cpu|cuda] [--only REGEX] \\
        [--sweeps recipes batch levels boxes] [--out-dir work_dirs/benchmark] \\
        [--doc docs/benchmark.md] [--reuse] [--dry-run]

Every run is a separate ``benchmark.py`` process (one recipe, one setting)
writing ``<out-dir>/<run name>.json``; ``--reuse`` keeps the JSON files that
exist, so an interrupted sweep continues where it stopped. The tables are
written between the ``<!-- benchmark:begin -->`` and ``<!-- benchmark:end -->``
markers of ``--doc`` (appended when the markers are missing), from every JSON
file of the runs asked for.

Sweeps:

* ``recipes``: every distillation recipe under ``configs/`` whose file name
  ends in ``_retinanet_digits.py`` or ``_digits_cls.py``, plus the digits
  recipes of ``configs/fgd``, ``configs/ld``, ``configs/detr_kd`` and
  ``configs/yolo_kd``, at the recipe's batch size (teacher and student base
  configs are left out: only recipes whose model is a distiller);
* ``batch``: ``--batch-recipe`` at batch sizes 1, 2, 4, 8, 16;
* ``levels``: ``--levels-recipe`` distilling FPN levels ``[0]``, ``[0, 1]``,
  ``[0, 1, 2]`` (``model.distill.<entry>.levels``);
* ``boxes``: ``--boxes-recipe`` (FGD) with 10, 100 and 1000 boxes per image;
* ``scaling`` (issue 20): ``--scaling-recipes`` (CWD, FGD) at batch sizes
  ``--scaling-batches`` (8, 16, 32) and image sizes ``--scaling-sizes`` (96, 192,
  384 px, batch 16), and ``--scaling-box-recipes`` (FGD, LD, DETR KD) with
  ``--scaling-boxes`` (4, 30, 100) boxes per image; ``--plot FILE.png`` draws the
  step times and ratios of this sweep (matplotlib, Agg backend).

``--clock cpu`` and ``--flops`` are passed to every ``benchmark.py`` run.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

from kd.benchmark import SUMMARY_HEADER, fmt, summary_row

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

BEGIN, END = '<!-- benchmark:begin -->', '<!-- benchmark:end -->'
SWEEPS = ('recipes', 'batch', 'levels', 'boxes', 'scaling')
SCALING_AXES = (('batch', 'batch size', 'batch_size'), ('size', 'image size (px)', 'input_size'),
                ('boxes', 'boxes per image', 'boxes_per_image'))


def is_distiller_recipe(path: str) -> bool:
    from mmengine.config import Config

    from kd.utils.config import resolve_config_path
    try:
        cfg = Config.fromfile(resolve_config_path(path))
    except Exception:  # noqa: BLE001  (a broken recipe is reported by benchmark.py)
        return True
    return 'Distiller' in str((cfg.get('model') or {}).get('type', ''))


def default_recipes() -> List[str]:
    found = set()
    for pattern in ('configs/**/*_retinanet_digits.py', 'configs/**/*_digits_cls.py',
                    'configs/fgd/*_digits.py', 'configs/ld/*_digits.py',
                    'configs/detr_kd/*_digits.py', 'configs/yolo_kd/*_digits.py',
                    'configs/rtmdet_kd/*_digits.py'):
        found.update(osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, pattern),
                                                             recursive=True))
    return sorted(p for p in found if '_base_' not in p and is_distiller_recipe(
        osp.join(ROOT, p)))


def plan(args) -> List[Tuple[str, str, List[str]]]:
    """``[(sweep, run name, benchmark.py arguments), ...]``."""
    runs = []
    if 'recipes' in args.sweeps:
        for recipe in args.recipes or default_recipes():
            name = osp.splitext(osp.basename(recipe))[0]
            runs.append(('recipes', name, [recipe]))
    if 'batch' in args.sweeps:
        name = osp.splitext(osp.basename(args.batch_recipe))[0]
        for b in args.batch_sizes:
            runs.append(('batch', f'{name}.batch{b}', [args.batch_recipe, '--batch-size',
                                                       str(b)]))
    if 'levels' in args.sweeps:
        name = osp.splitext(osp.basename(args.levels_recipe))[0]
        for n in (1, 2, 3):
            levels = '[' + ','.join(str(i) for i in range(n)) + ']'
            runs.append(('levels', f'{name}.levels{n}', [
                args.levels_recipe, '--cfg-options',
                f'model.distill.{args.levels_entry}.levels={levels}']))
    if 'boxes' in args.sweeps:
        name = osp.splitext(osp.basename(args.boxes_recipe))[0]
        for k in args.box_counts:
            runs.append(('boxes', f'{name}.boxes{k}', [args.boxes_recipe, '--boxes', str(k)]))
    if 'scaling' in args.sweeps:
        for recipe in args.scaling_recipes:
            name = osp.splitext(osp.basename(recipe))[0]
            for b in args.scaling_batches:
                runs.append(('scaling', f'{name}.scale_batch{b}', [recipe, '--batch-size', str(b)]))
            for px in args.scaling_sizes:
                runs.append(('scaling', f'{name}.scale_size{px}', [
                    recipe, '--batch-size', '16', '--input-size', str(px), str(px)]))
        for recipe in args.scaling_box_recipes:
            name = osp.splitext(osp.basename(recipe))[0]
            for k in args.scaling_boxes:
                runs.append(('scaling', f'{name}.scale_boxes{k}', [
                    recipe, '--batch-size', '16', '--boxes', str(k)]))
    if args.only:
        runs = [r for r in runs if re.search(args.only, r[1])]
    return runs


def run_one(args, name: str, bench_args: List[str]) -> Optional[dict]:
    out = osp.join(args.out_dir, f'{name}.json')
    if args.reuse and osp.isfile(out):
        with open(out) as f:
            return json.load(f)
    common = ['--iters', str(args.iters), '--warmup', str(args.warmup), '--repeats',
              str(args.repeats), '--out', out]
    if args.device:
        common += ['--device', args.device]
    if args.clock != 'wall':
        common += ['--clock', args.clock]
    if args.flops:
        common += ['--flops']
    if args.memory != 'auto':
        common += ['--memory', args.memory]
    # --cfg-options takes the rest of the line: it goes last
    head, opts = bench_args, []
    if '--cfg-options' in bench_args:
        i = bench_args.index('--cfg-options')
        head, opts = bench_args[:i], bench_args[i:]
    cmd = [sys.executable, osp.join(ROOT, 'tools/analysis_tools/benchmark.py')] + head + \
        common + opts
    print(f'[benchmark_all] {name}: {" ".join(cmd[1:])}', flush=True)
    if args.dry_run:
        return None
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, timeout=args.timeout, stdout=subprocess.PIPE,
                          stderr=None, text=True)
    if proc.returncode != 0 or not osp.isfile(out):
        print(f'[benchmark_all] {name} FAILED (exit {proc.returncode})', flush=True)
        return dict(failed=True, config=bench_args[0], returncode=proc.returncode)
    print(f'[benchmark_all] {name} done in {time.time() - start:.0f} s: '
          f'{proc.stdout.strip()}', flush=True)
    with open(out) as f:
        return json.load(f)


def _med(result: dict, kind: str) -> Optional[float]:
    return result['times_ms'].get(kind, {}).get('median')


def tables(results: Dict[str, List[Tuple[str, dict]]]) -> str:
    parts = []
    any_result = next((r for rs in results.values() for _, r in rs if not r.get('failed')),
                      None)
    if any_result:
        host = any_result['host']
        parts.append(
            f'Measured {any_result["timestamp"][:10]} on {host["device"]} '
            f'({host["device_name"]}), torch {host["torch"]}, {host["threads"]} thread(s), '
            f'load average at the end of the first run '
            f'{", ".join(f"{x:.1f}" for x in host["load_average"] or [])}; '
            f'{any_result["repeats"]} interleaved repeats of {any_result["iters"]} iterations '
            f'after {any_result["warmup"]} warm-up iterations. Times are medians per '
            'iteration in ms (± half the interquartile range); memory is the peak growth '
            f'of a distillation step ({any_result["memory"]["method"]}).\n')
    failed = [(n, r) for rs in results.values() for n, r in rs if r.get('failed')]

    def ok(rows):
        return [(n, r) for n, r in rows if not r.get('failed')]

    if ok(results.get('recipes', [])):
        parts.append('### Recipes\n')
        head, rule = SUMMARY_HEADER.split('\n')
        parts.append(f'{head} entry loss ms |\n{rule}---|')
        for _, r in ok(results['recipes']):
            entries = ', '.join(f'{k} {v["median"]:.1f}' for k, v in
                                r.get('entry_times_ms', {}).items())
            parts.append(summary_row(r) + f' {entries or "-"} |')
        parts.append('')
    sweeps = (('batch', 'Batch size', lambda r: str(r['batch_size'])),
              ('levels', 'Distilled FPN levels',
               lambda r: ' '.join(r['cfg_options']).rpartition('=')[2]),
              ('boxes', 'FGD: boxes per image', lambda r: str(r['boxes_per_image'])))
    for key, title, label in sweeps:
        rows = ok(results.get(key, []))
        if not rows:
            continue
        recipe = osp.splitext(osp.basename(rows[0][1]['config']))[0]
        parts.append(f'### {title} ({recipe})\n')
        parts.append(f'| {title.lower()} | student ms | teacher ms | distill ms | entry ms '
                     '| overhead | distill mem MiB |\n|---|---|---|---|---|---|---|')
        for _, r in rows:
            entry = sum(v['median'] for v in r.get('entry_times_ms', {}).values()) \
                if r.get('entry_times_ms') else None
            parts.append(f'| {label(r)} | {fmt(_med(r, "student"))} | {fmt(_med(r, "teacher"))} '
                         f'| {fmt(_med(r, "distill"))} | {fmt(entry)} | '
                         f'{fmt(r["overhead_ratio"], 2)} | '
                         f'{fmt(r["memory"]["kinds"].get("distill", {}).get("growth_mib"))} |')
        parts.append('')
    scaling = ok(results.get('scaling', []))
    if scaling:
        parts.append(scaling_table(scaling))
    if failed:
        parts.append('Failed runs: ' + ', '.join(f'{n} ({r["config"]})' for n, r in failed)
                     + '\n')
    return '\n'.join(parts).rstrip() + '\n'


def scaling_axis(name: str) -> Optional[str]:
    """``batch``, ``size`` or ``boxes`` from a scaling run name (``cwd....scale_size192``)."""
    m = re.search(r'\.scale_(batch|size|boxes)\d+$', name)
    return m.group(1) if m else None


def scaling_points(rows: List[Tuple[str, dict]]) -> Dict[Tuple[str, str], List[dict]]:
    """``{(recipe, axis): [point, ...]}`` sorted by the axis value; a point has ``x``,
    the medians (``student``, ``teacher``, ``distill``, ``entry``) and ``ratio``."""
    out: Dict[Tuple[str, str], List[dict]] = {}
    for name, r in rows:
        axis = scaling_axis(name)
        if axis is None:
            continue
        x = {'batch': r['batch_size'], 'size': r['input_size'][0],
             'boxes': r['boxes_per_image']}[axis]
        entry = sum(v['median'] for v in r.get('entry_times_ms', {}).values()) \
            if r.get('entry_times_ms') else None
        recipe = osp.splitext(osp.basename(r['config']))[0]
        out.setdefault((recipe, axis), []).append(dict(
            x=x, student=_med(r, 'student'), teacher=_med(r, 'teacher'),
            distill=_med(r, 'distill'), entry=entry, ratio=r['overhead_ratio']))
    for points in out.values():
        points.sort(key=lambda p: p['x'])
    return out


def scaling_table(rows: List[Tuple[str, dict]]) -> str:
    lines = ['### Scaling: batch size, image size, boxes per image\n',
             '| recipe | varied | value | student ms | teacher ms | distill ms | entry ms | '
             'overhead | distill ms / first |', '|---|---|---|---|---|---|---|---|---|']
    labels = {a: label for a, label, _ in SCALING_AXES}
    for (recipe, axis), points in scaling_points(rows).items():
        first = points[0]['distill']
        for p in points:
            grow = p['distill'] / first if first and p['distill'] else None
            lines.append(f'| {recipe} | {labels[axis]} | {p["x"]} | {fmt(p["student"])} | '
                         f'{fmt(p["teacher"])} | {fmt(p["distill"])} | {fmt(p["entry"])} | '
                         f'{fmt(p["ratio"], 2)} | {fmt(grow, 2)} |')
    return '\n'.join(lines) + '\n'


def plot_scaling(rows: List[Tuple[str, dict]], path: str) -> None:
    """Distill step time (top) and overhead ratio (bottom) against each scaling axis."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    points = scaling_points(rows)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), squeeze=False)
    for col, (axis, label, _) in enumerate(SCALING_AXES):
        top, bottom = axes[0][col], axes[1][col]
        recipes = sorted({r for r, _ in points})
        ticks = set()
        for (recipe, a), pts in sorted(points.items()):
            if a != axis:
                continue
            color = f'C{recipes.index(recipe) % 10}'     # one colour per recipe
            xs = [p['x'] for p in pts]
            ticks.update(xs)
            top.plot(xs, [p['distill'] for p in pts], 'o-', color=color,
                     label=f'{recipe} distill')
            top.plot(xs, [(p['student'] or 0) + (p['teacher'] or 0) for p in pts], 'x--',
                     color=color, label=f'{recipe} student + teacher')
            bottom.plot(xs, [p['ratio'] for p in pts], 'o-', color=color, label=recipe)
        for ax in (top, bottom):
            ax.set_xscale('log', base=2)
            if ticks:
                ax.set_xticks(sorted(ticks))
                ax.set_xticklabels([str(t) for t in sorted(ticks)])
            ax.set_xlabel(label)
            ax.grid(True, alpha=0.3)
        top.set_yscale('log')
        top.set_ylabel('ms per step (median)')
        bottom.set_ylabel('overhead distill / (student + teacher)')
        top.legend(fontsize=6)
        bottom.legend(fontsize=7)
    fig.suptitle('kd step cost scaling (tools/analysis_tools/benchmark_all.py --sweeps scaling)')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_doc(path: str, body: str) -> None:
    text = open(path).read() if osp.isfile(path) else '# Benchmark\n'
    block = f'{BEGIN}\n{body}{END}'
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + block + tail
    else:
        text = text.rstrip() + '\n\n' + block + '\n'
    from kd.utils.atomic import atomic_write_bytes
    atomic_write_bytes(text.encode(), path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--recipes', nargs='+', default=None,
                        help='recipes of the "recipes" sweep (default: see above)')
    parser.add_argument('--sweeps', nargs='+', default=list(SWEEPS), choices=SWEEPS)
    parser.add_argument('--only', default=None, help='regex on run names')
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--device', default=None, choices=['cpu', 'cuda'])
    parser.add_argument('--batch-recipe', default='configs/cwd/cwd_retinanet_digits.py')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 2, 4, 8, 16])
    parser.add_argument('--levels-recipe', default='configs/cwd/cwd_retinanet_digits.py')
    parser.add_argument('--levels-entry', default='fpn')
    parser.add_argument('--boxes-recipe', default='configs/fgd/fgd_retinanet_digits.py')
    parser.add_argument('--box-counts', type=int, nargs='+', default=[10, 100, 1000])
    parser.add_argument('--scaling-recipes', nargs='+', default=[
        'configs/cwd/cwd_retinanet_digits.py', 'configs/fgd/fgd_retinanet_digits.py'])
    parser.add_argument('--scaling-batches', type=int, nargs='+', default=[8, 16, 32])
    parser.add_argument('--scaling-sizes', type=int, nargs='+', default=[96, 192, 384])
    parser.add_argument('--scaling-box-recipes', nargs='+', default=[
        'configs/fgd/fgd_retinanet_digits.py', 'configs/ld/ld_gfl_digits.py',
        'configs/detr_kd/detr_kd_dino_digits.py'])
    parser.add_argument('--scaling-boxes', type=int, nargs='+', default=[4, 30, 100])
    parser.add_argument('--plot', default=None, metavar='PNG',
                        help='draw the scaling sweep into this PNG file')
    parser.add_argument('--clock', default='wall', choices=['wall', 'cpu'],
                        help="passed to benchmark.py (cpu: the process's CPU time)")
    parser.add_argument('--flops', action='store_true', help='passed to benchmark.py')
    parser.add_argument('--memory', default='auto', choices=['auto', 'fork', 'inline', 'off'],
                        help='passed to benchmark.py')
    parser.add_argument('--out-dir', default='work_dirs/benchmark')
    parser.add_argument('--doc', default='docs/benchmark.md')
    parser.add_argument('--timeout', type=float, default=3600, help='seconds per run')
    parser.add_argument('--reuse', action='store_true', help='keep existing JSON results')
    parser.add_argument('--dry-run', action='store_true', help='print the commands only')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    runs = plan(args)
    print(f'[benchmark_all] {len(runs)} runs', flush=True)
    results: Dict[str, List[Tuple[str, dict]]] = {}
    for sweep, name, bench_args in runs:
        result = run_one(args, name, bench_args)
        if result is not None:
            results.setdefault(sweep, []).append((name, result))
    if args.dry_run:
        return
    write_doc(args.doc, tables(results))
    print(f'[benchmark_all] wrote {args.doc}', flush=True)
    if args.plot and results.get('scaling'):
        plot_scaling([(n, r) for n, r in results['scaling'] if not r.get('failed')], args.plot)
        print(f'[benchmark_all] wrote {args.plot}', flush=True)


if __name__ == '__main__':
    main()
