"""Measure every distillation method on the embedded data; write the method READMEs and summary.

    python tools/analysis_tools/method_zoo.py [--methods cwd kd ...] [--seeds 0 1 2] [--jobs 2]

For each method (all by default) this trains the baseline student and the
method's recipe once per seed with ``tools/train.py`` (finished runs in
``work_dirs/bench_<task>`` are reused, so an interrupted
run continues where it stopped), then writes

* ``configs/<method>/README.md``: paper, what the method does, the loss and its
  reference, the measured result (mean ± std over seeds and per seed) and the
  commands;
* ``docs/results_methods.md``: one summary table, method | task | baseline |
  distilled | Δ, for every method measured so far.
* ``configs/<method>/metafile.yml`` (OpenMMLab model-index format: the collection
  with its paper, one model per recipe with the mean metric over seeds and the
  seed-0 ``student_last.pth`` as weights) and the top-level ``model-index.yml``
  importing every metafile (also read by ``mim`` and by MMEngine for ``kd::``
  config paths). ``--metafiles-only`` writes just these, from finished runs,
  without training anything.

The zoo is data, read by ``kd.zoo``: a method is the ``Zoo`` section of the
collection in ``configs/<method>/metafile.yml`` (task, loss file, reference,
two sentences, recipes; see ``kd/zoo/methods.py`` and docs/adding_a_method.md),
so adding a method needs no change here. Each method belongs to one task of
``configs/zoo_tasks.yml``, which fixes its baseline student, teacher and metric:
most detection recipes distil RetinaNet R18/2 (teacher) into RetinaNet R18/4 on
DigitsDet (``det``), LD needs GFL heads (``det_gfl``: GFL R18/2 -> R18/4), the
YOLO objectness distillation YOLOv3 heads (``det_yolo``: YOLOv3 R18/2 -> R18/4)
and DETR KD DINO (``det_dino``), metric COCO mAP50-95; classification recipes
distil CIFAR ResNet-20 into ResNet-8 on DigitsCls (``cls``), metric top-1. The
teacher of every task used must exist (train it with the task's ``teacher``
config; see docs/results_quickstart.md, configs/ld/README.md,
configs/yolo_kd/README.md).
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

from kd.zoo import (
    ROOT,
    count_parameters,
    final_metrics,
    finished_results,
    load_methods,
    load_tasks,
    log,
    run_grid,
    scale,
    summary,
    write_metafile,
    write_method_readme,
    write_model_index,
)


def teacher_result(task) -> dict[str, list[float]]:
    """``{teacher config: [final metric]}`` from the teacher checkpoint's run, or ``{}``."""
    found = final_metrics(osp.dirname(osp.join(ROOT, task.teacher_ckpt)), task.metric_key)
    if found is None:
        return {}
    return {task.teacher: [found[task.metric_key] * scale(task.metric_key)]}


def write_metafiles_from_finished_runs(methods: list[str], seeds: list[int]) -> None:
    """``--metafiles-only``: metafiles of every method whose runs all finished, then the index."""
    tasks, zoo = load_tasks(), load_methods()
    for key in methods:
        method = zoo[key]
        task = tasks[method.task]
        results = finished_results(list(method.recipes), seeds,
                                   osp.join(ROOT, task.work_dir), task.metric_key)
        if len(results) < len(method.recipes):
            log(f'{key}: not every run finished for seeds {seeds}; no metafile written')
            continue
        # baseline and teacher, when measured, for the Student/Delta/Gap Closed metrics
        results.update(finished_results([task.baseline], seeds,
                                        osp.join(ROOT, task.work_dir), task.metric_key))
        results.update(teacher_result(task))
        params = {r: count_parameters(r) for r in method.recipes}
        log(f'wrote {write_metafile(method, task, results, seeds, params)}')
    log(f'wrote {write_model_index()}')


def main() -> None:
    tasks, zoo = load_tasks(), load_methods()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--methods', nargs='+', choices=sorted(zoo), default=list(zoo))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument('--summary', default=None,
                        help='where the summary table goes (default: docs/results_methods.md '
                        'when every method runs; with --methods a subset, no file: the '
                        'summary holds the rows of the methods that ran, and would drop '
                        'the others)')
    parser.add_argument('--metafiles-only', action='store_true',
                        help='write only configs/<method>/metafile.yml and model-index.yml, '
                        'from runs that finished for every seed (trains nothing)')
    args = parser.parse_args()
    if args.metafiles_only:
        write_metafiles_from_finished_runs(args.methods, args.seeds)
        return

    chosen = [zoo[key] for key in args.methods]
    for name, task in tasks.items():
        if any(m.task == name for m in chosen) and \
                not osp.exists(osp.join(ROOT, task.teacher_ckpt)):
            raise SystemExit(f'teacher checkpoint {task.teacher_ckpt} not found: train it '
                             f'first with `python tools/train.py {task.teacher}`.')
    results: dict[str, list[float]] = {}
    for name, task in tasks.items():
        recipes = [r for m in chosen if m.task == name for r in m.recipes]
        if recipes:
            results.update(run_grid([task.baseline] + recipes, args.seeds, args.jobs,
                                    osp.join(ROOT, task.work_dir), task.metric_key))
            # the teacher's final validation (one run) for the gap-closed column
            results.update(teacher_result(task))
    for method in chosen:
        task = tasks[method.task]
        log(f'wrote {write_method_readme(method, task, results, args.seeds)}')
        params = {r: count_parameters(r) for r in method.recipes}
        log(f'wrote {write_metafile(method, task, results, args.seeds, params)}')
    log(f'wrote {write_model_index()}')

    text, rows = summary(chosen, tasks, results, args.seeds)
    print('\n'.join(rows))
    path = summary_path(args.summary, args.methods, zoo)
    if path is None:
        log(f'summary not written: {len(set(args.methods))} of {len(zoo)} methods ran and '
            'docs/results_methods.md holds every method; run without --methods, or '
            'pass --summary FILE, to write one')
        return
    with open(path, 'w') as f:
        f.write(text)
    log(f'summary written to {path}')


def summary_path(given: str | None, methods: list[str], zoo: dict) -> str | None:
    """The summary file to write: ``given``, else the project's summary when every
    method ran, else None (a subset's summary would drop the other methods' rows)."""
    if given is not None:
        return given
    if set(methods) >= set(zoo):
        return osp.join(ROOT, 'docs', 'results_methods.md')
    return None


if __name__ == '__main__':
    main()
