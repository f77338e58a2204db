"""Training runs of the demo and the benchmark tools, and their final metrics.

A run is ``tools/train.py CONFIG --work-dir DIR`` in a subprocess. A finished
run leaves ``DIR/DONE`` and MMEngine's ``DIR/<timestamp>/vis_data/scalars.json``;
such runs are reused, so a tool that trains many of them (``tools/demo.py``,
``run_benchmark_table.py``, ``method_zoo.py``) continues where it stopped.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from kd.utils.config import REPO_ROOT

#: the checkout the runs start from: ``tools/train.py`` and relative config paths
ROOT = REPO_ROOT
PROGRESS = re.compile(r'((?:Iter|Epoch)\(train\)\s+\[[^\]]*\](?:\[[^\]]*\])?).*?eta: (\S+)')


def log(msg: str) -> None:
    """One time-stamped progress line (``[demo HH:MM:SS] msg``)."""
    print(f'[demo {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def final_metrics(work_dir: str, key: str = 'coco/bbox_mAP') -> dict | None:
    """The last validation metrics of a finished run (from MMEngine's scalars.json)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    for path in reversed(files):
        metrics = None
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if key in row:
                    metrics = row
        if metrics is not None:
            return metrics
    return None


def best_metric(work_dir: str, key: str) -> float | None:
    """The best (largest) value of ``key`` over every validation of a run, or None.

    RepDistiller and mdistiller report the best test top-1 over training; MMEngine's
    ``scalars.json`` holds one row per validation.
    """
    best = None
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if key in row and (best is None or row[key] > best):
                    best = float(row[key])
    return best


def train(name: str, config: str, work_dir: str, options: list[str], threads: int = 0,
          key: str = 'coco/bbox_mAP') -> dict:
    """Train one run in a subprocess (progress lines only); return its metrics.

    Args:
        name: what the progress lines call the run.
        config: config path, relative to :data:`ROOT` or absolute.
        work_dir: the run's work dir; a run finished there earlier is reused.
        options: ``--cfg-options`` of the run (``randomness.seed=0``, ...).
        threads: ``OMP_NUM_THREADS`` of the run (0: inherited).
        key: the metric that marks a validation row.

    Raises:
        SystemExit: the training failed or logged no validation metrics.
    """
    done = final_metrics(work_dir, key)
    if done is not None and osp.exists(osp.join(work_dir, 'DONE')):
        log(f'{name}: finished earlier, reusing {work_dir}')
        return done
    cmd = [sys.executable, osp.join(ROOT, 'tools/train.py'), config, '--work-dir', work_dir]
    if options:
        cmd += ['--cfg-options'] + options
    log(f'{name}: training ({" ".join(cmd[1:])})')
    start = time.time()
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'train_output.log'), 'w') as out:
        env = dict(os.environ)
        if threads:
            env['OMP_NUM_THREADS'] = str(threads)
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1, env=env)
        last_report = 0.
        for line in proc.stdout:
            out.write(line)
            m = PROGRESS.search(line)
            if m and time.time() - last_report > 30:
                last_report = time.time()
                log(f'{name}: {" ".join(m.group(1).split())}, eta {m.group(2)}')
        proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f'{name}: training failed (exit {proc.returncode}); see '
                         f'{osp.join(work_dir, "train_output.log")}')
    metrics = final_metrics(work_dir, key)
    if metrics is None:
        raise SystemExit(f'{name}: no validation metrics in {work_dir}')
    minutes = (time.time() - start) / 60
    with open(osp.join(work_dir, 'DONE'), 'w') as f:
        json.dump(dict(minutes=minutes), f)
    log(f'{name}: done in {minutes:.1f} min, {key} {metrics[key]:.3f}')
    return metrics


def run_name(config: str, seed: int) -> str:
    """The work-dir name of one seed of a config: ``<config name>_seed<k>``."""
    return f'{osp.splitext(osp.basename(config))[0]}_seed{seed}'


def run_grid_metrics(configs: list[str], seeds: list[int], jobs: int, work_dir: str, key: str,
                     cfg_options: list[str] | None = None) -> dict[str, list[dict]]:
    """Train every config once per seed (reusing finished runs); return each run's metrics.

    Runs live in ``<work_dir>/<config name>_seed<k>``, ``jobs`` at a time (each
    with ``OMP_NUM_THREADS=cores/jobs``); the dicts are the last validation row
    of each run (MMEngine's scalars), in seed order.
    """
    tasks = []
    for config in configs:
        name = osp.splitext(osp.basename(config))[0]
        for seed in seeds:
            tasks.append((config, (f'{name} seed {seed}', config,
                                   osp.join(work_dir, run_name(config, seed)),
                                   [f'randomness.seed={seed}'] + list(cfg_options or []))))
    threads = max(1, (os.cpu_count() or 2) // jobs) if jobs > 1 else 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [(c, pool.submit(train, *targs, threads=threads, key=key))
                   for c, targs in tasks]
        results: dict[str, list[dict]] = {c: [] for c in configs}
        for config, future in futures:
            results[config].append(future.result())
    return results


def scale(key: str) -> float:
    """COCO metrics are logged as fractions (0.429); tables show percent (42.9)."""
    return 100.0 if key.startswith('coco') else 1.0


def run_grid(configs: list[str], seeds: list[int], jobs: int, work_dir: str, key: str,
             cfg_options: list[str] | None = None) -> dict[str, list[float]]:
    """As :func:`run_grid_metrics`, but only ``key`` (in percent for COCO metrics)."""
    runs = run_grid_metrics(configs, seeds, jobs, work_dir, key, cfg_options)
    return {c: [m[key] * scale(key) for m in ms] for c, ms in runs.items()}


def finished_results(configs: list[str], seeds: list[int], work_dir: str,
                     key: str) -> dict[str, list[float]]:
    """``key`` of the configs whose runs finished for every seed (nothing is trained).

    Values are in percent for COCO metrics, as :func:`run_grid` gives them; a
    config with any unfinished seed is left out.
    """
    out = {}
    for config in configs:
        values = []
        for seed in seeds:
            run = osp.join(work_dir, run_name(config, seed))
            metrics = final_metrics(run, key) if osp.exists(osp.join(run, 'DONE')) else None
            if metrics is None:
                break
            values.append(metrics[key] * scale(key))
        else:
            out[config] = values
    return out


def guess_metric(config: str) -> str:
    """``accuracy/top1`` for a config evaluated with ``Accuracy``, else ``coco/bbox_mAP``."""
    from kd.apis import load_config
    cfg = load_config(config)
    evaluator = cfg.get('val_evaluator', {})
    kind = evaluator.get('type', '') if isinstance(evaluator, dict) else ''
    return 'accuracy/top1' if 'Accuracy' in kind else 'coco/bbox_mAP'


def describe(config: str) -> str:
    """What the recipe does: the first clause of a config's leading comment.

    The comment lines before the first code line (relative to :data:`ROOT`) are joined,
    and cut at the first ``:``, ``,``, ``;`` or sentence end outside parentheses, so a
    clause that wraps onto the next comment line is kept whole ("MGD (..., Yang et al.
    ECCV 2022) on the hybrid encoder's three outputs"); a short label before a colon
    ("Workflow: stop distillation.") stays with its clause.
    """
    words = []
    with open(osp.join(ROOT, config) if not osp.isabs(config) else config) as f:
        for line in f:
            if not line.startswith('#'):
                if words:
                    break
                continue
            words.append(line.lstrip('# ').strip())
    text = ' '.join(w for w in words if w)
    depth = 0
    for i, ch in enumerate(text):
        depth = max(0, depth + (ch == '(') - (ch == ')'))  # a stray ')' does not stick
        end = i + 1 == len(text) or text[i + 1] == ' '
        if depth == 0 and end and ch in ':.;,' and not (ch == ':' and i < 12):
            return text[:i].strip()
    return text


def mean_std(values: list[float]) -> str:
    """``mean ± sample std`` with one decimal (only the mean for one value)."""
    text = f'{statistics.mean(values):.1f}'
    return text + (f' ± {statistics.stdev(values):.1f}' if len(values) > 1 else '')
