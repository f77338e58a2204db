"""Plot the training curves of one or more runs: task losses, distill losses, factors, metrics.

    python tools/analysis_tools/plot_logs.py WORK_DIR [WORK_DIR ...] [--keys PATTERN ...]
                                             [--out curves.png]

Reads MMEngine's ``<work_dir>/<timestamp>/vis_data/scalars.json`` (one JSON
object per line; a WORK_DIR may also be a timestamp folder or the file itself;
the files of several timestamps, e.g. a resumed run, are read in order and a
later value replaces an earlier one at the same iteration). Training rows carry
``iter`` and the loss dict (``student.loss_cls``, ``distill.fpn``,
``factor.fpn``, ...); validation rows carry metrics (``coco/bbox_mAP``,
``accuracy/top1``, ``teacher/...`` from ``kd.DistillValLoop``).

Panels, one each: the student's task losses (``student.*loss*``, and
``teacher.*loss*`` of an online teacher), every ``distill.<entry>``, the
schedule factors (``factor.*``) and the validation metrics; with ``--keys``
(shell-style patterns, e.g. ``'distill.*' coco/bbox_mAP``) only matching keys
are drawn and keys outside these groups (``lr``, ``grad_norm``, ``loss``) get a
panel of their own. Default metrics: ``coco/bbox_mAP``, ``coco/bbox_mAP_50``,
``accuracy/top1`` and their ``teacher/`` versions (dashed).

The x axis is the training iteration. Validation rows are placed at the last
training iteration logged before them (MMEngine logs them with ``step`` = epoch
by default, also for iteration-based runs). Runs are told apart by colour and
named by their work dir; the keys of one panel by line style.

Needs matplotlib (in ``requirements/runtime.txt``; ``pip install matplotlib``).
"""
from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

Series = Dict[str, Tuple[List[float], List[float]]]

DEFAULT_METRICS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'accuracy/top1')
# bookkeeping columns of a scalars.json row, never plotted
META_KEYS = {'step', 'iter', 'epoch'}


def scalar_files(path: str) -> List[str]:
    """The scalars.json files of a work dir, timestamp folder or file, oldest first."""
    if osp.isfile(path):
        return [path]
    for pattern in ('vis_data/scalars.json', '*/vis_data/scalars.json'):
        found = sorted(glob.glob(osp.join(path, pattern)))
        if found:
            return found
    raise FileNotFoundError(f'no vis_data/scalars.json under {path} (expected '
                            '<work_dir>/<timestamp>/vis_data/scalars.json, written by MMEngine\'s '
                            'LocalVisBackend)')


def load_scalars(paths: Sequence[str]) -> Tuple[Series, Series]:
    """``(train, val)``: ``{key: (iterations, values)}`` sorted by iteration.

    A training row's x is its ``iter`` (or ``step``); a validation row (one
    without ``iter``) is placed at the last training iteration seen before it.
    """
    train: Dict[str, Dict[float, float]] = OrderedDict()
    val: Dict[str, Dict[float, float]] = OrderedDict()
    for path in paths:
        last_iter = 0.0
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                row = json.loads(line)
                if 'iter' in row:
                    x = float(row['iter'])
                    last_iter = x
                    target = train
                else:
                    x = last_iter
                    target = val
                for key, value in row.items():
                    if key in META_KEYS or not isinstance(value, (int, float)) or \
                            isinstance(value, bool):
                        continue
                    target.setdefault(key, {})[x] = float(value)

    def ordered(table):
        return {k: ([x for x in sorted(v)], [v[x] for x in sorted(v)]) for k, v in table.items()}

    return ordered(train), ordered(val)


def is_timing(key: str) -> bool:
    return key in ('time', 'data_time', 'memory')


def group_keys(train: Series, val: Series, patterns: Optional[Sequence[str]] = None
               ) -> List[Tuple[str, List[Tuple[str, str]]]]:
    """Panels as ``[(title, [(source, key), ...]), ...]``; source is 'train' or 'val'."""
    def chosen(key: str) -> bool:
        return any(fnmatch.fnmatchcase(key, p) for p in patterns) if patterns else True

    task, distill, factors, metrics, other = [], [], [], [], []
    for key in train:
        if not chosen(key):
            continue
        if key.startswith(('student.', 'teacher.')) and 'loss' in key:
            task.append(('train', key))
        elif key.startswith('distill.'):
            distill.append(('train', key))
        elif key.startswith('factor.'):
            factors.append(('train', key))
        elif patterns:
            other.append(('train', key))
    for key in val:
        if is_timing(key):
            if patterns and chosen(key):
                other.append(('val', key))
            continue
        base = key[len('teacher/'):] if key.startswith('teacher/') else key
        if (patterns and chosen(key)) or (not patterns and base in DEFAULT_METRICS):
            metrics.append(('val', key))
    panels = []
    if task:
        panels.append(('student task losses', task))
    panels += [(key, [(src, key)]) for src, key in distill]
    if factors:
        panels.append(('schedule factors (factor.*)', factors))
    if metrics:
        panels.append(('validation metrics', metrics))
    if other:
        panels.append(('other', other))
    return panels


def run_names(work_dirs: Sequence[str]) -> List[str]:
    """Short unique names: the work dir's base name, more of its path when they clash."""
    parts = [osp.normpath(osp.abspath(w)).split(os.sep) for w in work_dirs]
    for depth in range(1, max(len(p) for p in parts) + 1):
        names = [os.sep.join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return list(work_dirs)


def plot(runs: Dict[str, Tuple[Series, Series]], out: str,
         patterns: Optional[Sequence[str]] = None) -> List[str]:
    """Draw the panels of every run into ``out``; return the panel titles."""
    try:
        import matplotlib
    except ImportError as err:
        raise SystemExit('plot_logs.py needs matplotlib: pip install matplotlib (it is listed in '
                         'requirements/runtime.txt)') from err
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    titles: Dict[str, List[Tuple[str, str]]] = OrderedDict()
    for train, val in runs.values():
        for title, keys in group_keys(train, val, patterns):
            bucket = titles.setdefault(title, [])
            bucket += [k for k in keys if k not in bucket]
    if not titles:
        raise SystemExit('nothing to plot: no key matched' +
                         (f' {list(patterns)}' if patterns else ''))
    cols = min(3, len(titles))
    rows = (len(titles) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    styles = ['-', ':', '-.', (0, (5, 1, 1, 1, 1, 1))]   # '--' is kept for teacher/ metrics
    for ax, (title, keys) in zip(axes.flat, titles.items()):
        for r, (run, (train, val)) in enumerate(runs.items()):
            for k, (src, key) in enumerate(keys):
                table = train if src == 'train' else val
                if key not in table:
                    continue
                xs, ys = table[key]
                style = '--' if key.startswith('teacher/') else styles[k % len(styles)]
                label = run if title == key else f'{run}: {key}'
                if len(runs) == 1 and title != key:
                    label = key
                ax.plot(xs, ys, linestyle=style, color=colors[r % len(colors)],
                        marker='o' if len(xs) < 3 else None, markersize=4, label=label)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(titles):]:
        ax.axis('off')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return list(titles)


def main(argv=None) -> List[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    parser.add_argument('--keys', nargs='+', help='only these keys (shell-style patterns)')
    parser.add_argument('--out', default='curves.png', help='output image (default curves.png)')
    args = parser.parse_args(argv)
    runs = OrderedDict()
    for name, work_dir in zip(run_names(args.work_dirs), args.work_dirs):
        runs[name] = load_scalars(scalar_files(work_dir))
    titles = plot(runs, args.out, args.keys)
    print(f'{args.out}: {len(runs)} run(s), panels: {", ".join(titles)}')
    return titles


if __name__ == '__main__':
    main()
