"""tools/analysis_tools/method_zoo.py lists every recipe, and its README writer is correct."""
import importlib.util
import statistics
from pathlib import Path

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
    assert set(DET_RECIPES + CLS_RECIPES) == listed
    for key, method in zoo.METHODS.items():
        assert (ROOT / method['file']).is_file(), key
        suffix = '_retinanet_digits.py' if method['task'] == 'det' else '_resnet_digits_cls.py'
        assert all(r.endswith(suffix) for r in method['recipes']), key


def test_every_registered_loss_has_a_method_entry():
    import kd  # noqa: F401
    from kd.registry import MODELS
    zoo = _zoo()
    documented = {name.strip() for m in zoo.METHODS.values() for name in m['loss'].split(',')}
    losses = {name for name in MODELS.module_dict if name.endswith('Loss')} | \
        {'ChannelWiseDivergence'}
    assert losses <= documented | {'DenseHeadKDLoss'}


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
