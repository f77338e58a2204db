"""The method zoo's OpenMMLab metafiles (kd.zoo), the model index, and the packaged kd/.mim tree."""
import os
import re
from pathlib import Path

import yaml

from kd.zoo import (
    finished_results,
    load_methods,
    load_tasks,
    paper_title,
    write_metafile,
    write_model_index,
)
from kd.zoo.methods import method_from_metafile

ROOT = Path(__file__).resolve().parents[2]


def test_every_method_has_a_paper_url_and_title():
    for key, method in load_methods().items():
        assert method.url.startswith('https://'), key
        title = paper_title(method.paper)
        assert title and '"' not in title and title in method.paper, key


def test_metafile_numbers(tmp_path):
    tasks, methods = load_tasks(), load_methods()
    task = tasks['det']
    recipe = 'configs/pkd/pkd_retinanet_digits.py'
    results = {task.baseline: [40.0, 42.0, 44.0], recipe: [45.0, 46.0, 50.0]}
    # seed-0 student of the recipe exists: its path is the weights
    weights = tmp_path / task.work_dir / 'pkd_retinanet_digits_seed0' / 'student_last.pth'
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b'')
    path = write_metafile(methods['pkd'], task, results, [0, 1, 2],
                          params={recipe: 792014}, root=str(tmp_path))
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
    # mean of 45, 46, 50; student mean 42, Δ +5; no teacher measured: no gap closed
    assert model['Results'] == [{'Task': 'Object Detection', 'Dataset': 'DigitsDet',
                                 'Metrics': {'mAP': 47.0, 'Student mAP': 42.0, 'Delta': 5.0}}]
    assert model['Weights'] == f'{task.work_dir}/pkd_retinanet_digits_seed0/student_last.pth'
    # the written file still defines the method: the zoo reads back the same entry
    assert method_from_metafile(path, tasks) == methods['pkd']

    cls = methods['kd']
    results = {cls.recipes[0]: [80.94, 81.3, 72.7]}
    meta = yaml.safe_load(Path(write_metafile(cls, tasks['cls'], results, [0, 1, 2],
                                              root=str(tmp_path))).read_text())
    (model, ) = meta['Models']
    assert model['Results'][0]['Metrics'] == {'Top 1 Accuracy': 78.3}
    assert model['Results'][0]['Task'] == 'Image Classification'
    assert model['Weights'] == 'not released' and 'Parameters' not in model['Metadata']

    # with the teacher (mean 52): gap 52 - 42 = 10, Δ 5 -> 50 %; a teacher below the
    # student gives no gap closed
    results = {task.baseline: [40.0, 42.0, 44.0], recipe: [45.0, 46.0, 50.0],
               task.teacher: [51.0, 53.0]}
    meta = yaml.safe_load(Path(write_metafile(methods['pkd'], task, results, [0, 1, 2],
                                              root=str(tmp_path))).read_text())
    assert meta['Models'][0]['Results'][0]['Metrics'] == {
        'mAP': 47.0, 'Student mAP': 42.0, 'Delta': 5.0, 'Teacher mAP': 52.0,
        'Gap Closed (%)': 50}
    results[task.teacher] = [41.0]
    meta = yaml.safe_load(Path(write_metafile(methods['pkd'], task, results, [0, 1, 2],
                                              root=str(tmp_path))).read_text())
    assert meta['Models'][0]['Results'][0]['Metrics'] == {
        'mAP': 47.0, 'Student mAP': 42.0, 'Delta': 5.0, 'Teacher mAP': 41.0}

    index = yaml.safe_load(Path(write_model_index(root=str(tmp_path))).read_text())
    assert index == {'Import': ['configs/kd/metafile.yml', 'configs/pkd/metafile.yml']}


def test_rewriting_every_metafile_keeps_it(tmp_path):
    """Written from its own entry and numbers, each metafile comes out byte for byte."""
    tasks, methods = load_tasks(), load_methods()
    for key, method in methods.items():
        source = ROOT / 'configs' / key / 'metafile.yml'
        meta = yaml.safe_load(source.read_text())
        models = {m['Config']: m for m in meta['Models']}
        if not models:   # a method not measured yet (Models: []) has no numbers to rewrite
            continue
        results = {}
        task = tasks[method.task]
        for c, m in models.items():    # the recipe's mean; baseline and teacher when given
            metrics = m['Results'][0]['Metrics']
            main = next(iter(metrics))
            results[c] = [metrics[main]]
            for prefix, config in (('Student', task.baseline), ('Teacher', task.teacher)):
                if f'{prefix} {main}' in metrics:
                    results[config] = [metrics[f'{prefix} {main}']]
        params = {c: m['Metadata'].get('Parameters') for c, m in models.items()}
        seeds = next(iter(models.values()))['Metadata']['Seeds']
        for m in models.values():        # the weights the source names exist in tmp_path
            if m['Weights'] != 'not released':
                (tmp_path / m['Weights']).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / m['Weights']).write_bytes(b'')
        readme = tmp_path / meta['Collections'][0]['README']
        readme.parent.mkdir(parents=True, exist_ok=True)
        readme.touch()
        written = write_metafile(method, tasks[method.task], results, seeds, params,
                                 root=str(tmp_path))
        # Delta and Gap Closed are derived: recomputed here from the rounded means, they can
        # differ by rounding from the values the runs gave (4.067 / 10.6 = 38 %, but
        # 4.1 / 10.6 = 39 %); everything else must come out byte for byte
        derived = re.compile(r'^( +(?:Delta|Gap Closed \(%\)): )(-?[0-9.]+)$', re.M)
        new_text, old_text = Path(written).read_text(), source.read_text()
        for (a_key, a), (b_key, b) in zip(derived.findall(new_text), derived.findall(old_text)):
            assert a_key == b_key and abs(float(a) - float(b)) <= 1.0, (key, a_key, a, b)
        assert derived.sub(r'\1X', new_text) == derived.sub(r'\1X', old_text), key


def test_finished_results_skips_unfinished_runs(tmp_path):
    for seed, done in ((0, True), (1, True)):
        run = tmp_path / f'kd_resnet_digits_cls_seed{seed}'
        scalars = run / '20250101_000000' / 'vis_data' / 'scalars.json'
        scalars.parent.mkdir(parents=True)
        scalars.write_text('{"accuracy/top1": %.1f, "step": 1}\n' % (70 + seed))
        if done:
            (run / 'DONE').write_text('{}')
    recipe = 'configs/kd/kd_resnet_digits_cls.py'
    assert finished_results([recipe], [0, 1], str(tmp_path), 'accuracy/top1') == \
        {recipe: [70.0, 71.0]}
    assert finished_results([recipe], [0, 1, 2], str(tmp_path), 'accuracy/top1') == {}


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
        recipes = {r for c in meta['Collections']
                   for r in (c.get('Zoo') or {}).get('Recipes', [])}
        for collection in meta['Collections']:
            assert collection['Paper']['URL'].startswith('https://'), rel
            assert (ROOT / collection.get('README', 'docs/methods.md')).is_file(), rel
        # MMEngine iterates over `Models` (a list, [] until the method is measured)
        assert isinstance(meta['Models'], list), rel
        for model in meta['Models']:
            assert (ROOT / model['Config']).is_file(), (rel, model['Config'])
            assert model['In Collection'] in names, rel
            assert not recipes or model['Config'] in recipes, (rel, model['Config'])
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
    recipe.write_text("_base_ = ['kd::cwd/cwd_retinanet_digits.py']\n")
    cfg = load_config(str(recipe))
    assert cfg.model.type == 'kd.SingleTeacherDistiller'
