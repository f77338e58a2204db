"""The method zoo (kd.zoo, read from the metafiles) lists every recipe; its README writer."""
import statistics
import subprocess
import sys
from pathlib import Path

from kd.zoo import KEEP_MARKER, load_methods, load_tasks, write_method_readme
from tests.test_configs.test_det_family_recipes import FAMILY_RECIPES
from tests.test_configs.test_recipes import CLS_RECIPES, DET_RECIPES
from tests.test_configs.test_rtdetr_kd_recipes import RECIPES as RTDETR_RECIPES
from tests.test_hooks.test_student_hooks import HOOK_RECIPES

ROOT = Path(__file__).resolve().parents[2]


def test_every_recipe_is_in_the_zoo_and_every_zoo_entry_exists():
    tasks, methods = load_tasks(), load_methods()
    listed = {r for m in methods.values() for r in m.recipes}
    assert set(DET_RECIPES + CLS_RECIPES + FAMILY_RECIPES + HOOK_RECIPES + RTDETR_RECIPES +
               ['configs/detr_kd/detr_kd_dino_digits.py']) == listed
    # each task's recipes distil that task's baseline model: the name says which
    suffixes = {'det': '_retinanet_digits.py', 'cls': '_resnet_digits_cls.py',
                'det_gfl': '_gfl_digits.py', 'det_yolo': '_yolov3_digits.py',
                'det_dino': '_dino_digits.py', 'det_rtmdet': '_rtmdet_digits.py',
                'det_yolox': '_yolox_digits.py', 'det_rtdetr': '_rtdetr_digits.py'}
    assert set(tasks) == set(suffixes)
    for name, task in tasks.items():
        assert (ROOT / task.baseline).is_file() and (ROOT / task.teacher).is_file(), name
    assert len(methods) == 33
    for key, method in methods.items():
        assert method.key == key and (ROOT / 'configs' / key / 'metafile.yml').is_file()
        assert (ROOT / method.file).is_file(), key
        suffix = suffixes[method.task]
        assert all(r.endswith(suffix) for r in method.recipes), key
        assert all((ROOT / r).is_file() for r in method.recipes), key


def test_every_registered_loss_has_a_method_entry():
    import kd.losses  # noqa: F401  (registers them)
    from kd.registry import MODELS
    documented = {name.strip() for m in load_methods().values() for name in m.loss.split(',')}
    losses = {name for name, cls in MODELS.module_dict.items()   # kd's own, not test toys
              if cls.__module__.startswith('kd.losses') and not name.startswith('_')}
    assert len(losses) >= 25
    # BYOTLoss is the exit loss of LayerwiseSelfDistiller, a workflow (docs/workflows.md)
    assert losses <= documented | {'BYOTLoss'}


def test_readme_numbers(tmp_path):
    tasks, methods = load_tasks(), load_methods()
    task = tasks['det']
    base, vals = [40.0, 42.0, 44.0], [45.0, 46.0, 50.0]
    results = {task.baseline: base, 'configs/pkd/pkd_retinanet_digits.py': vals,
               task.teacher: [52.0]}
    path = write_method_readme(methods['pkd'], task, results, [0, 1, 2], root=str(tmp_path))
    assert path == str(tmp_path / 'configs' / 'pkd' / 'README.md')
    text = Path(path).read_text()
    # mean 47.0, sample std 2.6 (sqrt(7)), delta +5.0 against the mean 42.0
    assert f'{statistics.stdev(vals):.1f}' == '2.6'
    # gap closed: +5.0 of the teacher's 52.0 - 42.0 = 10 points -> 50 %
    assert '| 47.0 ± 2.6 | +5.0 | 50 % | 45.0 / 46.0 / 50.0 |' in text
    assert '| 42.0 ± 2.0 | | | 40.0 / 42.0 / 44.0 |' in text
    assert '| teacher | 52.0 | | | 52.0 |' in text
    # the recipe's first comment line (read from the checkout) is its description
    assert '| [`pkd_retinanet_digits.py`](../../configs/pkd/pkd_retinanet_digits.py) | ' \
        'PKD' in text
    assert '`python tools/analysis_tools/method_zoo.py --methods pkd --seeds 0 1 2`' in text


def test_readme_rewrite_keeps_the_hand_written_part(tmp_path):
    tasks, methods = load_tasks(), load_methods()
    readme = tmp_path / 'configs' / 'fgd' / 'README.md'
    readme.parent.mkdir(parents=True)
    readme.write_text(f'# FGD\n\nDigitsDet: placeholder\n\n{KEEP_MARKER}\n\n'
                      '## COCO (published)\n\n| RetinaNet R50 | 40.7 |\n')
    results = {tasks['det'].baseline: [40.0, 41.0],
               'configs/fgd/fgd_retinanet_digits.py': [42.0, 43.0]}
    write_method_readme(methods['fgd'], tasks['det'], results, [0, 1], root=str(tmp_path))
    text = readme.read_text()
    # no teacher run: the gap-closed cell says so instead of a number
    assert 'placeholder' not in text and '| 42.5 ± 0.7 | +2.0 | - |' in text
    assert text.endswith(f'{KEEP_MARKER}\n\n## COCO (published)\n\n| RetinaNet R50 | 40.7 |\n')


def test_tool_lists_the_methods_of_the_metafiles():
    """method_zoo.py runs as a plain script (no sys.path edits) and offers every method."""
    res = subprocess.run([sys.executable, 'tools/analysis_tools/method_zoo.py', '--help'],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    help_text = ' '.join(res.stdout.split())
    for key in load_methods():
        assert key in help_text, key


def test_a_subset_of_methods_does_not_overwrite_the_summary():
    """`--methods rtdetr` must not replace docs/results_methods.md by the rtdetr row alone."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'method_zoo_tool', ROOT / 'tools' / 'analysis_tools' / 'method_zoo.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    zoo = load_methods()
    project_summary = str(ROOT / 'docs' / 'results_methods.md')
    assert tool.summary_path(None, sorted(zoo), zoo) == project_summary
    assert tool.summary_path(None, ['rtdetr'], zoo) is None
    assert tool.summary_path('/tmp/rows.md', ['rtdetr'], zoo) == '/tmp/rows.md'
