"""tools/analysis_tools/method_zoo.py lists every recipe, and its README writer is correct."""
import importlib.util
import statistics
from pathlib import Path

from tests.test_configs.test_det_family_recipes import FAMILY_RECIPES
from tests.test_configs.test_recipes import CLS_RECIPES, DET_RECIPES

ROOT = Path(__file__).resolve().parents[2]


def _zoo():
    spec = importlib.util.spec_from_file_location(
        'method_zoo', ROOT / 'tools' / 'analysis_tools' / 'method_zoo.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_recipe_is_in_the_zoo_and_every_zoo_entry_exists():
    zoo = _zoo()
    listed = {r for m in zoo.METHODS.values() for r in m['recipes']}
    assert set(DET_RECIPES + CLS_RECIPES + FAMILY_RECIPES +
               ['configs/detr_kd/detr_kd_dino_digits.py']) == listed
    # each task's recipes distil that task's baseline model: the name says which
    suffixes = {'det': '_retinanet_digits.py', 'cls': '_resnet_digits_cls.py',
                'det_gfl': '_gfl_digits.py', 'det_yolo': '_yolov3_digits.py',
                'det_dino': '_dino_digits.py'}
    assert set(zoo.TASKS) == set(suffixes)
    for name, task in zoo.TASKS.items():
        assert (ROOT / task['baseline']).is_file() and (ROOT / task['teacher']).is_file(), name
    for key, method in zoo.METHODS.items():
        assert (ROOT / method['file']).is_file(), key
        suffix = suffixes[method['task']]
        assert all(r.endswith(suffix) for r in method['recipes']), key


def test_every_registered_loss_has_a_method_entry():
    import kd.losses  # noqa: F401  (registers them)
    from kd.registry import MODELS
    zoo = _zoo()
    documented = {name.strip() for m in zoo.METHODS.values() for name in m['loss'].split(',')}
    losses = {name for name, cls in MODELS.module_dict.items()   # kd's own, not test toys
              if cls.__module__.startswith('kd.losses') and not name.startswith('_')}
    assert len(losses) >= 25
    # BYOTLoss is the exit loss of LayerwiseSelfDistiller, a workflow (docs/workflows.md)
    assert losses <= documented | {'BYOTLoss'}


def test_readme_numbers(tmp_path, monkeypatch):
    zoo = _zoo()
    monkeypatch.setattr(zoo, 'ROOT', str(tmp_path))
    base, vals = [40.0, 42.0, 44.0], [45.0, 46.0, 50.0]
    results = {zoo.TASKS['det']['baseline']: base,
               'configs/pkd/pkd_retinanet_digits.py': vals}
    monkeypatch.setattr('run_benchmark_table.ROOT', str(ROOT))
    path = zoo.write_method_readme('pkd', zoo.METHODS['pkd'], results, [0, 1, 2])
    text = Path(path).read_text()
    # mean 47.0, sample std 2.6 (sqrt(7)), delta +5.0 against the mean 42.0
    assert f'{statistics.stdev(vals):.1f}' == '2.6'
    assert '| 47.0 ± 2.6 | +5.0 | 45.0 / 46.0 / 50.0 |' in text
    assert '| 42.0 ± 2.0 | | 40.0 / 42.0 / 44.0 |' in text


def test_readme_rewrite_keeps_the_hand_written_part(tmp_path, monkeypatch):
    zoo = _zoo()
    monkeypatch.setattr(zoo, 'ROOT', str(tmp_path))
    monkeypatch.setattr('run_benchmark_table.ROOT', str(ROOT))
    readme = tmp_path / 'configs' / 'fgd' / 'README.md'
    readme.parent.mkdir(parents=True)
    readme.write_text(f'# FGD\n\nDigitsDet: placeholder\n\n{zoo.KEEP_MARKER}\n\n'
                      '## COCO (published)\n\n| RetinaNet R50 | 40.7 |\n')
    results = {zoo.TASKS['det']['baseline']: [40.0, 41.0],
               'configs/fgd/fgd_retinanet_digits.py': [42.0, 43.0]}
    zoo.write_method_readme('fgd', zoo.METHODS['fgd'], results, [0, 1])
    text = readme.read_text()
    assert 'placeholder' not in text and '| 42.5 ± 0.7 | +2.0 |' in text
    assert text.endswith(f'{zoo.KEEP_MARKER}\n\n## COCO (published)\n\n| RetinaNet R50 | 40.7 |\n')
