"""One row of the CIFAR-100 benchmark: a recipe's teacher, then the recipe over seeds.

Used by ``tools/analysis_tools/cifar100_row.py``. The teacher comes from (in this
order) ``--teacher-ckpt`` (a RepDistiller / mdistiller ``cifar_teachers`` checkpoint,
converted and checked strictly against the recipe's teacher config, or a kd
checkpoint), the recipe's own ``teacher_ckpt`` path when it exists, or a training
of the teacher config (``--train-teacher``). Each seed then trains the recipe with
that teacher; the row reports the best ``accuracy/top1`` of each run, as
RepDistiller and mdistiller do.
"""
from __future__ import annotations

import os
import os.path as osp
import subprocess
import sys

from .runs import ROOT, best_metric, log, mean_std, run_name, train

KEY = 'accuracy/top1'


def recipe_teacher(recipe: str, options: list[str] | None = None) -> tuple[str, str | None]:
    """``(teacher config path, teacher checkpoint path or None)`` named by a recipe."""
    from kd.apis import load_config
    from kd.utils.config import resolve_config_path
    cfg = load_config(recipe, options or [])
    teacher = cfg.model.get('teacher')
    if not isinstance(teacher, dict) or 'config' not in teacher:
        raise SystemExit(f'{recipe}: model.teacher.config is not set; this tool needs a '
                         'single-teacher distillation recipe')
    ckpt = teacher.get('checkpoint')
    if ckpt and not osp.isabs(ckpt):
        ckpt = osp.join(ROOT, ckpt)
    return resolve_config_path(teacher['config']), ckpt


def is_repdistiller_checkpoint(path: str) -> bool:
    """RepDistiller saves ``{'model': state_dict, 'epoch': ...}``; kd ``{'state_dict': ...}``."""
    import torch
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    return isinstance(ckpt, dict) and 'model' in ckpt and 'state_dict' not in ckpt


def prepare_teacher(recipe: str, work_dir: str, teacher_ckpt: str | None = None,
                    arch: str | None = None, train_teacher: bool = False,
                    options: list[str] | None = None) -> str:
    """The kd checkpoint of the recipe's teacher, converting or training it if needed."""
    teacher_cfg, default = recipe_teacher(recipe, options)
    if teacher_ckpt:
        if not osp.isfile(teacher_ckpt):
            raise SystemExit(f'--teacher-ckpt {teacher_ckpt} does not exist')
        if not is_repdistiller_checkpoint(teacher_ckpt):
            log(f'teacher: kd checkpoint {teacher_ckpt}')
            return teacher_ckpt
        dst = osp.join(work_dir, 'teacher', osp.splitext(osp.basename(teacher_cfg))[0] + '.pth')
        cmd = [sys.executable, osp.join(ROOT, 'tools/model_converters/repdistiller_to_kd.py'),
               teacher_ckpt, dst, '--config', teacher_cfg] + (['--arch', arch] if arch else [])
        log(f'teacher: converting the RepDistiller checkpoint ({" ".join(cmd[1:])})')
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit(f'teacher conversion failed:\n{res.stdout}{res.stderr}')
        return dst
    if default and osp.isfile(default):
        log(f'teacher: the recipe\'s checkpoint {default}')
        return default
    if not train_teacher:
        raise SystemExit(
            f'no teacher checkpoint: {default} does not exist. Pass --teacher-ckpt PATH (a '
            'RepDistiller cifar_teachers checkpoint or a kd one) or --train-teacher to train '
            f'{osp.relpath(teacher_cfg, ROOT)} first')
    tdir = osp.join(work_dir, 'teacher', osp.splitext(osp.basename(teacher_cfg))[0])
    train('teacher', teacher_cfg, tdir, list(options or []), key=KEY)
    with open(osp.join(tdir, 'last_checkpoint')) as f:
        return f.read().strip()


def reproduce_row(recipe: str, seeds: list[int], work_dir: str, teacher_ckpt: str | None = None,
                  arch: str | None = None, train_teacher: bool = False,
                  options: list[str] | None = None) -> dict:
    """Train the recipe once per seed (finished runs are reused); return the row's values."""
    teacher = prepare_teacher(recipe, work_dir, teacher_ckpt, arch, train_teacher, options)
    per_seed, teacher_top1, minutes = [], None, []
    for seed in seeds:
        run_dir = osp.join(work_dir, run_name(recipe, seed))
        metrics = train(f'{osp.basename(recipe)} seed {seed}', recipe, run_dir,
                        [f'randomness.seed={seed}', f'model.teacher.checkpoint={teacher}']
                        + list(options or []), key=KEY)
        per_seed.append(100 * best_metric(run_dir, KEY))
        teacher_top1 = metrics.get(f'teacher/{KEY}', teacher_top1)
        done = osp.join(run_dir, 'DONE')
        if osp.isfile(done):
            import json
            with open(done) as f:
                minutes.append(json.load(f).get('minutes'))
    return dict(recipe=osp.relpath(osp.abspath(recipe), ROOT), seeds=list(seeds),
                per_seed=per_seed, mean_std=mean_std(per_seed), teacher=teacher,
                teacher_top1=None if teacher_top1 is None else 100 * teacher_top1,
                minutes=[m for m in minutes if m is not None])


HEADER = ('| recipe | teacher top-1 | best top-1, mean ± std | per seed | seeds | '
          'minutes per run |\n|---|---|---|---|---|---|\n')


def format_row(row: dict) -> str:
    teacher = '-' if row['teacher_top1'] is None else f'{row["teacher_top1"]:.2f}'
    minutes = (f'{sum(row["minutes"]) / len(row["minutes"]):.1f}' if row['minutes'] else '-')
    return (f'| `{row["recipe"]}` | {teacher} | {row["mean_std"]} | '
            f'{" / ".join(f"{v:.2f}" for v in row["per_seed"])} | '
            f'{", ".join(map(str, row["seeds"]))} | {minutes} |')


def write_row(path: str, row: dict) -> None:
    """Add the row to a Markdown table file, replacing an earlier row of the same recipe."""
    lines = []
    if osp.isfile(path):
        with open(path) as f:
            lines = [ln.rstrip('\n') for ln in f if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(f'| `{row["recipe"]}` |')]
    if not lines or not lines[0].startswith('| recipe |'):
        lines = HEADER.strip().split('\n') + [ln for ln in lines if ln.startswith('| `')]
    lines.append(format_row(row))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
