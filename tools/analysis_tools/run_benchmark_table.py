"""Train a baseline and distillation recipes over seeds; write a Markdown table.

    python tools/analysis_tools/run_benchmark_table.py \\
        --baseline configs/quickstart/resnet_student_digits_cls.py \\
        --recipes configs/dkd/dkd_resnet_digits_cls.py configs/dist/dist_resnet_digits_cls.py \\
        --seeds 0 1 2 --jobs 2 --work-dir work_dirs/bench_cls --out docs/results_cls.md

Every run trains with ``tools/train.py`` in its own work dir
(``<work-dir>/<config name>_seed<k>``); finished runs are reused, so the tool
resumes where it stopped. The metric is ``coco/bbox_mAP`` for detection
configs and ``accuracy/top1`` for classification (or ``--metric``). The table
lists mean ± std over seeds (sample std) and the change against the baseline.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'tools'))

from demo import log, train  # noqa: E402


def guess_metric(config: str) -> str:
    from kd.apis import load_config
    cfg = load_config(config)
    evaluator = cfg.get('val_evaluator', {})
    kind = evaluator.get('type', '') if isinstance(evaluator, dict) else ''
    return 'accuracy/top1' if 'Accuracy' in kind else 'coco/bbox_mAP'


def describe(config: str) -> str:
    """First comment line of a config: what the recipe does."""
    with open(osp.join(ROOT, config) if not osp.isabs(config) else config) as f:
        for line in f:
            if line.startswith('#'):
                return line.lstrip('# ').strip()
    return ''


def run_grid(configs: list[str], seeds: list[int], jobs: int, work_dir: str, key: str,
             cfg_options: list[str] | None = None) -> dict[str, list[float]]:
    """Train every config once per seed (reusing finished runs); return its metric values.

    Runs live in ``<work_dir>/<config name>_seed<k>``. Values are in percent
    for COCO metrics (``coco/bbox_mAP`` 0.429 -> 42.9) and as logged otherwise.
    """
    tasks = []
    for config in configs:
        name = osp.splitext(osp.basename(config))[0]
        for seed in seeds:
            tasks.append((config, (f'{name} seed {seed}', config,
                                   osp.join(work_dir, f'{name}_seed{seed}'),
                                   [f'randomness.seed={seed}'] + list(cfg_options or []))))
    threads = max(1, (os.cpu_count() or 2) // jobs) if jobs > 1 else 0
    scale = 100 if key.startswith('coco') else 1
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [(c, pool.submit(train, *targs, threads=threads, key=key))
                   for c, targs in tasks]
        results: dict[str, list[float]] = {c: [] for c in configs}
        for config, future in futures:
            results[config].append(future.result()[key] * scale)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--baseline', required=True)
    parser.add_argument('--recipes', nargs='+', required=True)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument('--metric', help='metric key (default: from the evaluator)')
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'bench'))
    parser.add_argument('--out', help='write the Markdown table here too')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra overrides for every run')
    args = parser.parse_args()

    key = args.metric or guess_metric(args.baseline)
    configs = [args.baseline] + list(args.recipes)
    results = run_grid(configs, args.seeds, args.jobs, args.work_dir, key, args.cfg_options)
    base = results[args.baseline]

    def fmt(vals):
        text = f'{statistics.mean(vals):.1f}'
        return text + (f' ± {statistics.stdev(vals):.1f}' if len(vals) > 1 else '')

    lines = [f'| recipe | what | {key} | Δ vs baseline |', '|---|---|---|---|']
    for config in configs:
        vals = results[config]
        delta = '' if config == args.baseline else \
            f'{statistics.mean(vals) - statistics.mean(base):+.1f}'
        lines.append(f'| `{config}` | {describe(config)} | {fmt(vals)} | {delta} |')
    seeds = ', '.join(map(str, args.seeds))
    text = (f'{key}, mean ± std over seeds {seeds} '
            f'(`{" ".join(["python"] + sys.argv)}`)\n\n' + '\n'.join(lines) + '\n')
    print('\n' + text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
        log(f'table written to {args.out}')


if __name__ == '__main__':
    main()
