"""method_zoo.py's OpenMMLab metafiles, the model index, and the packaged kd/.mim tree."""
import importlib.util
import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _zoo():
    spec = importlib.util.spec_from_file_location(
        'method_zoo', ROOT / 'tools' / 'analysis_tools' / 'method_zoo.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_method_has_a_paper_url_and_title():
    zoo = _zoo()
    for key, method in zoo.METHODS.items():
        assert method.get('url', '').startswith('https://'), key
        title = zoo.paper_title(method['paper'])
        assert title and '"' not in title and title in method['paper'], key


def test_metafile_numbers(tmp_path, monkeypatch):
    zoo = _zoo()
    monkeypatch.setattr(zoo, 'ROOT', str(tmp_path))
    task = zoo.TASKS['det']
    recipe = 'configs/pkd/pkd_retinanet_digits.py'
    results = {task['baseline']: [40.0, 42.0, 44.0], recipe: [45.0, 46.0, 50.0]}
    # seed-0 student of the recipe exists: its path is the weights
    weights = tmp_path / task['work_dir'] / 'pkd_retinanet_digits_seed0' / 'student_last.pth'
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b'')
    path = zoo.write_metafile('pkd', zoo.METHODS['pkd'], results, [0, 1, 2],
                              params={recipe: 792014})
    assert path == str(tmp_path / 'configs' / 'pkd' / 'metafile.yml')
    meta = yaml.safe_load(Path(path).read_text())
    (collection, ) = meta['Collections']
    assert collection['Name'] == 'PKD'
    assert collection['Paper'] == {
        'URL': 'https://arxiv.org/abs/2207.02039',
        'Title': 'PKD: General Distillation Framework for Object Detectors via Pearson '
                 'Correlation Coefficient'}
    (model, ) = meta['Models']
    assert model['Name'] == 'pkd_retinanet_digits'
    assert model['In Collection'] == 'PKD' and model['Config'] == recipe
    assert model['Metadata']['Training Data'] == 'DigitsDet'
    assert model['Metadata']['Parameters'] == 792014
    assert model['Results'] == [{'Task': 'Object Detection', 'Dataset': 'DigitsDet',
                                 'Metrics': {'mAP': 47.0}}]   # mean of 45, 46, 50
    assert model['Weights'] == f'{task["work_dir"]}/pkd_retinanet_digits_seed0/student_last.pth'

    cls = zoo.METHODS['kd']
    results = {cls['recipes'][0]: [80.94, 81.3, 72.7]}
    meta = yaml.safe_load(Path(zoo.write_metafile('kd', cls, results, [0, 1, 2])).read_text())
    (model, ) = meta['Models']
    assert model['Results'][0]['Metrics'] == {'Top 1 Accuracy': 78.3}
    assert model['Results'][0]['Task'] == 'Image Classification'
    assert model['Weights'] == 'not released' and 'Parameters' not in model['Metadata']

    index = yaml.safe_load(Path(zoo.write_model_index()).read_text())
    assert index == {'Import': ['configs/kd/metafile.yml', 'configs/pkd/metafile.yml']}


def test_finished_results_skips_unfinished_runs(tmp_path, monkeypatch):
    zoo = _zoo()
    for seed, done in ((0, True), (1, True)):
        run = tmp_path / f'kd_resnet_digits_cls_seed{seed}'
        scalars = run / '20250101_000000' / 'vis_data' / 'scalars.json'
        scalars.parent.mkdir(parents=True)
        scalars.write_text('{"accuracy/top1": %.1f, "step": 1}\n' % (70 + seed))
        if done:
            (run / 'DONE').write_text('{}')
    recipe = 'configs/quickstart/kd_resnet_digits_cls.py'
    assert zoo.finished_results([recipe], [0, 1], str(tmp_path), 'accuracy/top1') == \
        {recipe: [70.0, 71.0]}
    assert zoo.finished_results([recipe], [0, 1, 2], str(tmp_path), 'accuracy/top1') == {}


def test_model_index_and_metafiles_are_consistent():
    """Every imported metafile parses, names existing configs, READMEs and collections."""
    index_path = ROOT / 'model-index.yml'
    assert index_path.is_file()
    index = yaml.safe_load(index_path.read_text())
    imports = index['Import'] or []
    on_disk = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob('configs/*/metafile.yml'))
    assert sorted(imports) == on_disk
    for rel in imports:
        meta = yaml.safe_load((ROOT / rel).read_text())
        names = {c['Name'] for c in meta['Collections']}
        for collection in meta['Collections']:
            assert collection['Paper']['URL'].startswith('https://'), rel
            assert (ROOT / collection['README']).is_file(), rel
        assert isinstance(meta['Models'], list) and meta['Models'], rel
        for model in meta['Models']:
            assert (ROOT / model['Config']).is_file(), (rel, model['Config'])
            assert model['In Collection'] in names, rel
            for result in model['Results']:
                assert result['Metrics'] and all(isinstance(v, (int, float))
                                                 for v in result['Metrics'].values())


def test_mim_tree_links_to_the_repository():
    """kd/.mim holds configs, tools and the model index (copied into a wheel by setup.py)."""
    mim = ROOT / 'kd' / '.mim'
    for name, target in (('configs', ROOT / 'configs'), ('tools', ROOT / 'tools'),
                         ('model-index.yml', ROOT / 'model-index.yml')):
        assert (mim / name).exists(), name
        assert os.path.samefile(mim / name, target), name
    assert (mim / 'tools' / 'train.py').is_file()


def test_kd_config_paths_still_resolve_with_the_model_index(tmp_path):
    """MMEngine reads kd/.mim/model-index.yml (and every metafile) for `kd::` bases."""
    from kd.apis import load_config
    recipe = tmp_path / 'recipe.py'
    recipe.write_text("_base_ = ['kd::quickstart/cwd_retinanet_digits.py']\n")
    cfg = load_config(str(recipe))
    assert cfg.model.type == 'kd.SingleTeacherDistiller'
