"""The method zoo as data: tasks from ``configs/zoo_tasks.yml``, methods from the metafiles.

A method is the collection of ``configs/<method>/metafile.yml`` that has a
``Zoo`` section (OpenMMLab model-index format; MMEngine reads only the
``Models`` list of a metafile, and model-index tools keep unknown collection
fields as custom fields)::

    Collections:
    - Name: CWD                          # the method's name in tables
      Metadata:
        Loss: ChannelWiseDivergence      # registered loss name(s), comma-separated
      Paper:
        URL: https://arxiv.org/abs/2011.13256
      Zoo:
        Task: det                        # a key of configs/zoo_tasks.yml
        Loss File: kd/losses/feature/cwd.py
        Reference: C. Shu, ... "Channel-wise Knowledge Distillation for ...". ICCV 2021.
        About: Two sentences on what the student is made to match.
        Recipes:
        - configs/cwd/cwd_retinanet_digits.py
    Models: []                           # filled by method_zoo.py once measured

The method's key is its folder name (``cwd``). A task fixes the baseline
student, the teacher and the metric of the recipes that name it (see
``configs/zoo_tasks.yml``). Adding a method is a recipe plus such a metafile:
no tool changes.
"""
from __future__ import annotations

import glob
import os.path as osp
import re
from dataclasses import dataclass

from .runs import ROOT

TASKS_FILE = 'configs/zoo_tasks.yml'
TASK_FIELDS = ('baseline', 'teacher', 'teacher_ckpt', 'work_dir', 'metric_key', 'metric',
               'what')
ZOO_FIELDS = ('Task', 'Loss File', 'Reference', 'About', 'Recipes')


@dataclass(frozen=True)
class Task:
    """The pair a method is measured on.

    Attributes:
        name: the task's key (``det``, ``cls``, ...).
        baseline: config of the student trained alone.
        teacher: config of the teacher.
        teacher_ckpt: the teacher checkpoint the recipes load.
        work_dir: where the runs of the baseline and the recipes live.
        metric_key: the validation metric (an MMEngine scalar, ``coco/bbox_mAP``).
        metric: its name in tables (``mAP50-95``).
        what: one line on the pair, the data and the schedule.
    """

    name: str
    baseline: str
    teacher: str
    teacher_ckpt: str
    work_dir: str
    metric_key: str
    metric: str
    what: str


@dataclass(frozen=True)
class Method:
    """One method of the zoo, read from the ``Zoo`` collection of its metafile.

    Attributes:
        key: the folder of its metafile and README (``configs/<key>/``).
        name: the collection name (``CWD``).
        loss: registered loss name(s), comma-separated.
        file: the file that implements the loss.
        task: the key of its :class:`Task`.
        paper: the full reference, with the title in double quotes.
        url: the paper's address.
        about: what the method does, in two sentences.
        recipes: the configs measured on the task.
    """

    key: str
    name: str
    loss: str
    file: str
    task: str
    paper: str
    url: str
    about: str
    recipes: tuple[str, ...]


def _load_yaml(path: str):
    import yaml
    with open(path) as f:
        return yaml.safe_load(f)


def load_tasks(root: str = ROOT) -> dict[str, Task]:
    """The tasks of ``<root>/configs/zoo_tasks.yml``, in file order.

    Raises:
        ValueError: a task lacks one of :data:`TASK_FIELDS`.
    """
    path = osp.join(root, TASKS_FILE)
    tasks = {}
    for name, fields in (_load_yaml(path) or {}).items():
        missing = [f for f in TASK_FIELDS if not (fields or {}).get(f)]
        if missing:
            raise ValueError(f'{path}: task {name!r} lacks {", ".join(missing)} '
                             f'(every task needs {", ".join(TASK_FIELDS)})')
        tasks[name] = Task(name=name, **{f: str(fields[f]) for f in TASK_FIELDS})
    return tasks


def paper_title(paper: str) -> str:
    """The first quoted title of a method's ``paper`` reference."""
    found = re.search(r'"(.+?)"', paper)
    return (found.group(1) if found else paper).rstrip('.')


def method_from_metafile(path: str, tasks: dict[str, Task] | None = None) -> Method | None:
    """The method described by one metafile, or None when no collection has a ``Zoo`` section.

    Raises:
        ValueError: the ``Zoo`` section is incomplete or names an unknown task,
            the collection lacks its name, loss or paper URL, or several
            collections of the file have a ``Zoo`` section.
    """
    meta = _load_yaml(path) or {}
    found = [c for c in meta.get('Collections') or [] if isinstance(c, dict) and 'Zoo' in c]
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(f'{path}: {len(found)} collections have a Zoo section; one method '
                         'per metafile (a folder per method)')
    collection = found[0]
    zoo = collection['Zoo'] or {}
    problems = [f'Zoo: {f}' for f in ZOO_FIELDS if not zoo.get(f)]
    name = collection.get('Name')
    loss = (collection.get('Metadata') or {}).get('Loss')
    url = (collection.get('Paper') or {}).get('URL')
    problems += [what for what, value in (('Name', name), ('Metadata: Loss', loss),
                                          ('Paper: URL', url)) if not value]
    if problems:
        raise ValueError(f'{path}: the collection lacks {", ".join(problems)} (see the '
                         'example in kd/zoo/methods.py and docs/adding_a_method.md)')
    if tasks is not None and zoo['Task'] not in tasks:
        raise ValueError(f'{path}: Zoo: Task {zoo["Task"]!r} is not a task of {TASKS_FILE} '
                         f'({", ".join(tasks)})')
    recipes = zoo['Recipes']
    if isinstance(recipes, str):
        recipes = [recipes]
    return Method(key=osp.basename(osp.dirname(path)), name=str(name), loss=str(loss),
                  file=str(zoo['Loss File']), task=str(zoo['Task']),
                  paper=str(zoo['Reference']), url=str(url), about=str(zoo['About']),
                  recipes=tuple(str(r) for r in recipes))


def load_methods(root: str = ROOT, tasks: dict[str, Task] | None = None) -> dict[str, Method]:
    """Every method of ``<root>/configs/*/metafile.yml``, grouped by task, then by key.

    Tasks come in the order of ``configs/zoo_tasks.yml``; metafiles without a
    ``Zoo`` section (a collection outside the zoo) are skipped.
    """
    tasks = load_tasks(root) if tasks is None else tasks
    methods = [m for p in sorted(glob.glob(osp.join(root, 'configs', '*', 'metafile.yml')))
               if (m := method_from_metafile(p, tasks)) is not None]
    order = {name: i for i, name in enumerate(tasks)}
    methods.sort(key=lambda m: (order[m.task], m.key))
    return {m.key: m for m in methods}
