"""What the method zoo writes: method READMEs, metafiles, the model index, the summary.

``tools/analysis_tools/method_zoo.py`` measures the methods of
:func:`kd.zoo.methods.load_methods` and hands the results (``{config: [value
per seed]}``, in percent for COCO metrics) to these writers.
"""
from __future__ import annotations

import glob
import os
import os.path as osp
import statistics

from .methods import Method, Task, paper_title
from .runs import ROOT, describe, log, mean_std, run_name

# A method README's text from this line on is written by hand and kept on every rewrite.
KEEP_MARKER = '<!-- method_zoo.py keeps everything from this line on -->'

# metric key -> (task, data set, metric name) in the OpenMMLab model index
INDEX_RESULTS = {
    'coco/bbox_mAP': ('Object Detection', 'DigitsDet', 'mAP'),
    'accuracy/top1': ('Image Classification', 'DigitsCls', 'Top 1 Accuracy'),
}


def delta(values: list[float], base: list[float]) -> str:
    """Mean of ``values`` minus mean of ``base``, signed, one decimal."""
    return f'{statistics.mean(values) - statistics.mean(base):+.1f}'


def gap_share(values: list[float], base: list[float], teacher: list[float]) -> float | None:
    """``100 * Δ / (teacher - student)`` of the means; ``None`` when the teacher is not above."""
    gap = statistics.mean(teacher) - statistics.mean(base)
    if gap <= 0:
        return None
    return 100 * (statistics.mean(values) - statistics.mean(base)) / gap


def gap_closed(values: list[float], base: list[float], teacher: list[float] | None) -> str:
    """``Δ / (teacher - student)`` in percent of the means; ``-`` without a teacher above."""
    if not teacher:
        return '-'
    share = gap_share(values, base, teacher)
    return '- (teacher not above the student)' if share is None else f'{share:.0f} %'


def teacher_text(teacher: list[float] | None) -> str:
    return mean_std(teacher) if teacher else 'not measured'


def write_method_readme(method: Method, task: Task, results: dict, seeds: list[int],
                        root: str = ROOT) -> str:
    """Write ``<root>/configs/<key>/README.md``; keep the text below :data:`KEEP_MARKER`.

    ``results`` holds the values of the task's baseline and of every recipe of
    the method; recipe descriptions are read from the checkout (:data:`ROOT`).
    """
    base = results[task.baseline]
    teacher = results.get(task.teacher)
    seed_text = ' / '.join(map(str, seeds))
    lines = [f'# {method.name}', '', f'> {method.paper}', '', method.about, '',
             f'Loss: `{method.loss}` in [`{method.file}`](../../{method.file}) '
             '(its docstring gives the formula, the reference implementation it matches and '
             'every argument).', '',
             '## Result on the embedded data', '',
             f'{task.what}; {task.metric}, mean ± std over seeds '
             f'{", ".join(map(str, seeds))} (per seed {seed_text}).', '',
             f'| recipe | what | {task.metric} | Δ vs student | gap closed | per seed |',
             '|---|---|---|---|---|---|',
             f'| teacher (`{task.teacher}`) | teacher | {teacher_text(teacher)} | | | '
             f'{" / ".join(f"{v:.1f}" for v in teacher or [])} |',
             f'| student alone (`{task.baseline}`) | baseline | {mean_std(base)} | | | '
             f'{" / ".join(f"{v:.1f}" for v in base)} |']
    for recipe in method.recipes:
        vals = results[recipe]
        lines.append(f'| [`{osp.basename(recipe)}`](../../{recipe}) | {describe(recipe)} | '
                     f'{mean_std(vals)} | {delta(vals, base)} | '
                     f'{gap_closed(vals, base, teacher)} | '
                     f'{" / ".join(f"{v:.1f}" for v in vals)} |')
    lines += ['', 'Gap closed: Δ / (teacher − student), of the means.']
    lines += ['', 'A negative Δ is reported as measured: the recipe does not help this pair '
              'on this schedule.' if any(statistics.mean(results[r]) < statistics.mean(base)
                                         for r in method.recipes) else
              'Compare the Δ with the spread over seeds before reading much into it.', '',
              '## Commands', '',
              'Teacher (once): `python tools/train.py ' + task.teacher + '` '
              f'(writes `{task.teacher_ckpt}`).', '',
              'One run: `python tools/train.py ' + method.recipes[0] + '`', '',
              'This table (reuses finished runs): '
              f'`python tools/analysis_tools/method_zoo.py --methods {method.key} --seeds '
              f'{" ".join(map(str, seeds))}`', '']
    folder = osp.join(root, 'configs', method.key)
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'README.md')
    kept = ''
    if osp.isfile(path):  # hand-written sections (e.g. published COCO numbers) survive
        with open(path) as f:
            old = f.read()
        if KEEP_MARKER in old:
            kept = old[old.index(KEEP_MARKER):]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + (f'\n{kept}' if kept else ''))
    return path


def count_parameters(config: str) -> int | None:
    """Parameters of the student a recipe trains, or None when it cannot be built here."""
    try:
        from mmengine.registry import DefaultScope

        from kd.apis import load_config
        from kd.registry import MODELS
        from kd.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        cfg = load_config(osp.join(ROOT, config))
        model = cfg.model.get('student', cfg.model) if 'Distiller' in str(
            cfg.model.get('type', '')) else cfg.model
        if not isinstance(model, dict) or 'type' not in model:
            return None
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'kd')):
            return sum(p.numel() for p in MODELS.build(model).parameters())
    except Exception as err:  # noqa: BLE001 - the count is optional metadata
        log(f'{config}: parameters not counted ({type(err).__name__}: {err})')
        return None


def collection(method: Method, task: Task, root: str = ROOT) -> dict:
    """The metafile collection of a method: model-index fields plus its ``Zoo`` section."""
    _, dataset, _ = INDEX_RESULTS[task.metric_key]
    readme = f'configs/{method.key}/README.md'
    return {
        'Name': method.name,
        'Metadata': {'Training Data': dataset, 'Training Techniques': ['Knowledge Distillation'],
                     'Loss': method.loss},
        'Paper': {'URL': method.url, 'Title': paper_title(method.paper)},
        'README': readme if osp.isfile(osp.join(root, readme)) else 'docs/methods.md',
        'Zoo': {'Task': method.task, 'Loss File': method.file, 'Reference': method.paper,
                'About': method.about, 'Recipes': list(method.recipes)}}


def model_metrics(metric: str, values: list[float], base: list[float] | None,
                  teacher: list[float] | None) -> dict:
    """A metafile model's ``Metrics``: the distilled mean, and with the baseline and the
    teacher measured, the student's and teacher's means, the change and the share of
    the teacher-student gap closed (``Δ / (teacher - student)``, percent; left out when
    the teacher is not above the student)."""
    out = {metric: round(statistics.mean(values), 1)}
    if base:
        out[f'Student {metric}'] = round(statistics.mean(base), 1)
        out['Delta'] = round(statistics.mean(values) - statistics.mean(base), 1)
    if base and teacher:
        out[f'Teacher {metric}'] = round(statistics.mean(teacher), 1)
        share = gap_share(values, base, teacher)
        if share is not None:
            out['Gap Closed (%)'] = round(share)
    return out


def write_metafile(method: Method, task: Task, results: dict, seeds: list[int],
                   params: dict | None = None, root: str = ROOT) -> str:
    """Write ``<root>/configs/<key>/metafile.yml`` for the recipes found in ``results``.

    One model per measured recipe: the mean metric over ``seeds``, the seed-0
    ``student_last.pth`` as weights when it exists under ``root``, the student's
    parameter count from ``params`` when given. The collection keeps the
    method's ``Zoo`` section, so the file stays the method's definition.
    """
    import yaml
    kind, dataset, metric = INDEX_RESULTS[task.metric_key]
    models = []
    for recipe in method.recipes:
        if recipe not in results:
            continue
        name = osp.splitext(osp.basename(recipe))[0]
        weights = osp.join(task.work_dir, run_name(recipe, seeds[0]), 'student_last.pth')
        meta = {'Training Data': dataset, 'Teacher': task.teacher,
                'Student': task.baseline, 'Seeds': list(seeds)}
        if params and params.get(recipe):
            meta['Parameters'] = int(params[recipe])
        models.append({
            'Name': name, 'In Collection': method.name, 'Config': recipe, 'Metadata': meta,
            'Results': [{'Task': kind, 'Dataset': dataset,
                         'Metrics': model_metrics(metric, results[recipe],
                                                  results.get(task.baseline),
                                                  results.get(task.teacher))}],
            'Weights': weights if osp.isfile(osp.join(root, weights)) else 'not released'})
    folder = osp.join(root, 'configs', method.key)
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'metafile.yml')
    with open(path, 'w') as f:
        yaml.safe_dump({'Collections': [collection(method, task, root)], 'Models': models}, f,
                       sort_keys=False, allow_unicode=True, width=100)
    return path


def write_model_index(root: str = ROOT) -> str:
    """Write ``<root>/model-index.yml`` importing every ``configs/*/metafile.yml``."""
    found = sorted(osp.relpath(p, root) for p in
                   glob.glob(osp.join(root, 'configs', '*', 'metafile.yml')))
    lines = ['# OpenMMLab model index of kd, written by tools/analysis_tools/method_zoo.py.',
             '# kd/.mim/model-index.yml links here: MMEngine reads it (with every metafile) when',
             '# it resolves a kd:: config path, and mim lists the models from it.']
    lines += ['Import:'] + [f'  - {p}' for p in found] if found else ['Import: []']
    path = osp.join(root, 'model-index.yml')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def summary(methods: list[Method], tasks: dict[str, Task], results: dict,
            seeds: list[int]) -> tuple[str, list[str]]:
    """``docs/results_methods.md``: one row per recipe; returns (page text, table rows)."""
    rows = ['| method | task | recipe | teacher | baseline | distilled | Δ | gap closed |',
            '|---|---|---|---|---|---|---|---|']
    for method in methods:
        task = tasks[method.task]
        base = results[task.baseline]
        teacher = results.get(task.teacher)
        for recipe in method.recipes:
            vals = results[recipe]
            rows.append(f'| [{method.name}](../configs/{method.key}/README.md) | '
                        f'{method.task} ({task.metric}) | `{osp.basename(recipe)}` | '
                        f'{teacher_text(teacher)} | {mean_std(base)} | {mean_std(vals)} | '
                        f'{delta(vals, base)} | {gap_closed(vals, base, teacher)} |')
    seed_text = ' '.join(map(str, seeds))
    used = [name for name in tasks if any(m.task == name for m in methods)]
    what = ' '.join(f'{name}: {tasks[name].what}.' for name in used)
    text = ['# Every method on the embedded data', '',
            f'Mean ± std over seeds {seed_text}. {what} Each method\'s README has the per-seed '
            'values.', '',
            f'Command: `python tools/analysis_tools/method_zoo.py --methods '
            f'{" ".join(m.key for m in methods)} --seeds {seed_text}`', ''] + rows + ['']
    return '\n'.join(text), rows
