"""Train a baseline and distillation recipes over seeds; write a Markdown table.

    python tools/analysis_tools/run_benchmark_table.py \\
        --baseline configs/baselines/resnet_student_digits_cls.py \\
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

from kd.zoo import describe, guess_metric, log, mean_std, run_grid_metrics, scale

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def complexity(config: str) -> tuple[float, float] | None:
    """Student params (M) and GFLOPs at the probe/input size of a config (None if unknown)."""
    try:
        from mmengine.config import Config
        from mmengine.registry import init_default_scope

        from kd.registry import MODELS
        from kd.utils import register_all_modules
        from kd.utils.complexity import params_and_flops
        register_all_modules()
        cfg = Config.fromfile(config if osp.isabs(config) else osp.join(ROOT, config))
        init_default_scope(cfg.get('default_scope', 'mmdet'))
        model_cfg = cfg.model
        shape = tuple(model_cfg.get('probe_shape') or ())
        if 'student' in model_cfg:
            model_cfg = model_cfg.student
        if 'model_file' in model_cfg or 'config' in model_cfg:
            return None
        if not shape:
            shape = (3, 32, 32) if 'Accuracy' in str(cfg.get('val_evaluator')) else (3, 96, 96)
        params, flops = params_and_flops(MODELS.build(model_cfg), shape)
        return params / 1e6, flops / 1e9
    except Exception as err:  # noqa: BLE001 - a table without complexity is still useful
        log(f'complexity of {config}: not counted ({type(err).__name__}: {err})')
        return None


def bar_chart(rows: list[tuple[str, list[float]]], key: str, path: str) -> None:
    """Mean ± std per recipe as a horizontal bar chart."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = [r[0] for r in rows]
    means = [statistics.mean(v) for _, v in rows]
    stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for _, v in rows]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    colors = ['0.6'] + ['tab:blue' if m >= means[0] else 'tab:red' for m in means[1:]]
    ax.barh(range(len(rows)), means, xerr=stds, color=colors, capsize=3)
    ax.axvline(means[0], color='0.3', lw=0.8, ls='--')
    ax.set_yticks(range(len(rows)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f'{key} (mean ± std over seeds; grey: baseline)')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


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
    runs = run_grid_metrics(configs, args.seeds, args.jobs, args.work_dir, key,
                            args.cfg_options)
    results = {c: [m[key] * scale(key) for m in ms] for c, ms in runs.items()}
    base = results[args.baseline]
    extra = 'coco/bbox_mAP_50' if key == 'coco/bbox_mAP' else None

    head = ['recipe', 'what', 'params (M)', 'GFLOPs'] + ([extra] if extra else []) + \
        [key, 'Δ vs baseline']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for config in configs:
        vals = results[config]
        delta = '' if config == args.baseline else \
            f'{statistics.mean(vals) - statistics.mean(base):+.1f}'
        cx = complexity(config)
        cells = [f'`{config}`', describe(config),
                 f'{cx[0]:.3f}' if cx else '–', f'{cx[1]:.3f}' if cx else '–']
        if extra:
            cells.append(mean_std([m.get(extra, float('nan')) * scale(extra)
                                   for m in runs[config]]))
        cells += [mean_std(vals), delta]
        lines.append('| ' + ' | '.join(cells) + ' |')
    seeds = ', '.join(map(str, args.seeds))
    text = (f'{key}, mean ± std over seeds {seeds} '
            f'(`{" ".join(["python"] + sys.argv)}`)\n\n' + '\n'.join(lines) + '\n')
    print('\n' + text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
        log(f'table written to {args.out}')
        png = osp.splitext(args.out)[0] + '.png'
        try:
            bar_chart([(osp.splitext(osp.basename(c))[0], results[c]) for c in configs], key,
                      png)
            log(f'bar chart written to {png}')
        except ImportError:
            log('matplotlib is not installed: no bar chart (pip install matplotlib)')


if __name__ == '__main__':
    main()
