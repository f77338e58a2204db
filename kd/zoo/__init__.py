"""Shared code of the result tools: runs, the method zoo's data and what it writes.

* :mod:`kd.zoo.runs`: train a config in a subprocess, reuse finished runs,
  read their final metrics (``tools/demo.py``, ``run_benchmark_table.py``,
  ``method_zoo.py``);
* :mod:`kd.zoo.methods`: the tasks (``configs/zoo_tasks.yml``) and the methods
  (the ``Zoo`` section of each ``configs/<method>/metafile.yml``);
* :mod:`kd.zoo.index`: method READMEs, metafiles, ``model-index.yml`` and the
  summary page written from measured results.
"""
from .index import (
    KEEP_MARKER,
    count_parameters,
    summary,
    write_metafile,
    write_method_readme,
    write_model_index,
)
from .methods import Method, Task, load_methods, load_tasks, paper_title
from .runs import (
    ROOT,
    describe,
    final_metrics,
    finished_results,
    guess_metric,
    log,
    mean_std,
    run_grid,
    run_grid_metrics,
    scale,
    train,
)

__all__ = ['KEEP_MARKER', 'count_parameters', 'summary', 'write_metafile',
           'write_method_readme', 'write_model_index', 'Method', 'Task', 'load_methods',
           'load_tasks', 'paper_title', 'ROOT', 'describe', 'final_metrics',
           'finished_results', 'guess_metric', 'log', 'mean_std', 'run_grid',
           'run_grid_metrics', 'scale', 'train']
