"""The main job on the embedded data: teacher, student, distilled student, one table.

    python tools/demo.py [--seeds 0 1 2] [--recipes cwd crosskd] [--jobs 2]
                         [--work-dir work_dirs/demo] [--teacher-checkpoint CKPT]

1. prepares DigitsDet (scikit-learn digits on 96-px canvases) if missing;
2. trains the teacher (configs/baselines/retinanet_teacher_digits.py) into
   work_dirs/retinanet_teacher_digits/, where the quickstart recipes look for
   it, unless iter_3000.pth exists there (or --teacher-checkpoint names one);
3. trains the baseline student and each distillation recipe, one run per seed,
   ``--jobs`` runs at a time (finished runs are skipped, so an interrupted demo
   continues where it stopped);
4. prints model | params | GFLOPs | mAP50 | mAP50-95 with deltas against the
   baseline student (mean ± std over seeds when there are several), and writes
   it to <work-dir>/results.md and results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import statistics
import time

from kd.zoo import final_metrics, log, train

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

TEACHER_CFG = 'configs/baselines/retinanet_teacher_digits.py'
# where `tools/train.py TEACHER_CFG` writes and the quickstart recipes' teacher_ckpt points
TEACHER_WORK_DIR = 'work_dirs/retinanet_teacher_digits'
TEACHER_CKPT = 'iter_3000.pth'
STUDENT_CFG = 'configs/baselines/retinanet_student_digits.py'
RECIPES = {
    'cwd': 'configs/cwd/cwd_retinanet_digits.py',
    'crosskd': 'configs/crosskd/crosskd_retinanet_digits.py',
    'dense_kd': 'configs/dense_kd/dense_kd_retinanet_digits.py',
}
DEFAULT_RECIPES = ['cwd', 'crosskd']


def complexity(config: str) -> tuple[float, float]:
    """Params (M) and GFLOPs of a detector config at 96x96 input."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    from kd.utils.complexity import params_and_flops
    register_all_modules()
    model = MODELS.build(Config.fromfile(osp.join(ROOT, config)).model)
    params, flops = params_and_flops(model, (3, 96, 96))
    return params / 1e6, flops / 1e9


def fmt(values: list[float], base: list[float] | None = None) -> str:
    mean = statistics.mean(values) * 100
    text = f'{mean:.1f}'
    if len(values) > 1:
        text += f' ± {statistics.stdev(values) * 100:.1f}'
    if base is not None:
        text += f' ({mean - statistics.mean(base) * 100:+.1f})'
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--recipes', nargs='+', default=DEFAULT_RECIPES,
                        help=f'distillation recipes to run: {list(RECIPES)} or config paths')
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'demo'))
    parser.add_argument('--teacher-checkpoint', help='use this teacher instead of training one')
    parser.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1),
                        help='runs trained at the same time (each with '
                        'OMP_NUM_THREADS=cores/jobs); 2 suits a 2-core machine with several seeds')
    parser.add_argument('--min-gap', type=float, default=10.0,
                        help='mAP points by which the teacher must beat the student mean; '
                        'below it the demo warns and exits with status 1')
    args = parser.parse_args()

    start = time.time()
    from kd.datasets.digits_data import ensure_digits_data
    log('preparing the embedded data (data/digits_det)')
    ensure_digits_data(osp.join(ROOT, 'data'), which=('det', ))

    # The teacher goes where every quickstart recipe looks for it (the teacher
    # config's default work dir), so the README's commands work after the demo.
    teacher_dir = osp.join(ROOT, TEACHER_WORK_DIR)
    teacher_ckpt = args.teacher_checkpoint
    if teacher_ckpt is None and osp.isfile(osp.join(teacher_dir, TEACHER_CKPT)):
        teacher_ckpt = osp.join(teacher_dir, TEACHER_CKPT)   # trained earlier: reuse
        log(f'teacher: using {teacher_ckpt} (trained earlier)')
    if teacher_ckpt is None:
        teacher_metrics = train('teacher', TEACHER_CFG, teacher_dir, ['randomness.seed=0'])
        with open(osp.join(teacher_dir, 'last_checkpoint')) as f:
            teacher_ckpt = f.read().strip()
    else:  # a teacher trained earlier with tools/train.py: read its final validation
        teacher_metrics = final_metrics(osp.dirname(osp.abspath(teacher_ckpt)))

    rows = [('teacher', TEACHER_CFG, [teacher_metrics] if teacher_metrics else [])]
    jobs = []  # (row name, args of train())
    for s in args.seeds:
        jobs.append(('student', (f'student seed {s}', STUDENT_CFG,
                                 osp.join(args.work_dir, f'student_seed{s}'),
                                 [f'randomness.seed={s}'])))
    names = ['student']
    for recipe in args.recipes:
        config = RECIPES.get(recipe, recipe)
        name = recipe if recipe in RECIPES else osp.splitext(osp.basename(recipe))[0]
        names.append(f'student + {name}')
        for s in args.seeds:
            jobs.append((f'student + {name}', (
                f'{name} seed {s}', config, osp.join(args.work_dir, f'{name}_seed{s}'),
                [f'randomness.seed={s}', f'model.teacher.checkpoint={teacher_ckpt}'])))
    threads = max(1, (os.cpu_count() or 2) // args.jobs) if args.jobs > 1 else 0
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [(row, pool.submit(train, *targs, threads=threads)) for row, targs in jobs]
        results = [(row, f.result()) for row, f in futures]
    student_runs = [m for row, m in results if row == 'student']
    rows.append(('student', STUDENT_CFG, student_runs))
    for name in names[1:]:
        rows.append((name, STUDENT_CFG, [m for row, m in results if row == name]))

    if not teacher_metrics:  # a given checkpoint without its training logs: the
        # distillation runs evaluated it once beside the student (kd.DistillValLoop)
        seen = [m for row, m in results if 'teacher/coco/bbox_mAP' in m]
        if seen:
            teacher_metrics = {k[len('teacher/'):]: v for k, v in seen[0].items()
                               if k.startswith('teacher/')}
            rows[0] = ('teacher', TEACHER_CFG, [teacher_metrics])

    teacher_map = teacher_metrics['coco/bbox_mAP'] * 100 if teacher_metrics else None
    student_map = statistics.mean(r['coco/bbox_mAP'] for r in student_runs) * 100
    gap = None if teacher_map is None else teacher_map - student_map
    text, table = results_table(rows, args.seeds, gap)
    seeds = ', '.join(map(str, args.seeds))
    print(f'\nDigitsDet val (500 canvases), COCO bbox mAP x100, seeds {seeds}; '
          '(±: std over seeds; Δ: change vs the student baseline; gap closed: '
          'Δ / (teacher - student))\n')
    problem = teacher_problem(teacher_map, student_map, args.min_gap)
    if problem:
        text += f'\n\n**Warning: {problem}**'
    print(text)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(text + '\n')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(rows=table, teacher_minus_student=gap, warning=problem), f, indent=1)
    log(f'finished in {(time.time() - start) / 60:.1f} min; table in '
        f'{osp.join(args.work_dir, "results.md")}')
    if problem:
        raise SystemExit(
            f'[demo] {problem}. The distillation rows above compare against a teacher '
            'that is not clearly better than its student, so they say little about '
            'distillation. Retrain the teacher (tools/train.py '
            f'{TEACHER_CFG} --cfg-options randomness.seed=1), or pass a stronger one '
            'with --teacher-checkpoint; --min-gap sets the margin.')


def teacher_problem(teacher_map: float | None, student_map: float, min_gap: float) -> str | None:
    """Why the teacher cannot support the distillation table, or None if it can."""
    if teacher_map is None:
        return 'the teacher was not evaluated (no validation metrics found for it)'
    if teacher_map - student_map < min_gap:
        return (f'teacher {teacher_map:.1f} mAP is not better than the student '
                f'({student_map:.1f}) by at least {min_gap:g} points')
    return None


def results_table(rows: list, seeds: list[int], gap: float | None) -> tuple[str, list]:
    """Markdown table: mAPs, Δ vs the student and the share of the teacher-student gap."""
    base = [r['coco/bbox_mAP'] for r in rows[1][2]]
    lines = ['| model | params (M) | GFLOPs | mAP50 | mAP50-95 | Δ mAP50-95 | gap closed |',
             '|---|---|---|---|---|---|---|']
    table = []
    for name, config, runs in rows:
        params, gflops = complexity(config)
        if not runs:
            continue
        m50 = [r['coco/bbox_mAP_50'] for r in runs]
        m = [r['coco/bbox_mAP'] for r in runs]
        distilled = name not in ('teacher', 'student')
        delta = (statistics.mean(m) - statistics.mean(base)) * 100 if distilled else None
        closed = (f'{100 * delta / gap:.0f} %' if delta is not None and gap and gap > 0
                  else '')
        lines.append(f'| {name} | {params:.2f} | {gflops:.2f} | {fmt(m50, None)} | '
                     f'{fmt(m, None)} | {"" if delta is None else f"{delta:+.1f}"} | '
                     f'{closed} |')
        table.append(dict(model=name, params_m=params, gflops=gflops, mAP50=m50, mAP=m,
                          seeds=seeds if name != 'teacher' else [0],
                          delta=delta, gap_closed=(delta / gap if closed else None)))
    return '\n'.join(lines), table


if __name__ == '__main__':
    main()
