"""kd.zoo.methods: the zoo read from data; a new method is a recipe plus its metafile."""
import shutil
from pathlib import Path

import pytest
import yaml

from kd.zoo import load_methods, load_tasks
from kd.zoo.methods import TASKS_FILE, Method, method_from_metafile

ROOT = Path(__file__).resolve().parents[2]

# what docs/adding_a_method.md asks a method author to write, before any measurement
NEW_METAFILE = '''\
Collections:
- Name: Cosine
  Metadata:
    Loss: CosineFeatureLoss
  Paper:
    URL: https://arxiv.org/abs/0000.00000
  Zoo:
    Task: det
    Loss File: kd/losses/feature/cosine.py
    Reference: 'A. Author. "Cosine Feature Distillation". Venue 2030.'
    About: The student matches the direction of the teacher's channel vectors.
    Recipes:
    - configs/cosine/cosine_retinanet_digits.py
Models: []
'''


def _checkout(tmp_path):
    """A checkout with the tasks and one measured method (cwd) copied from the repository."""
    (tmp_path / 'configs' / 'cwd').mkdir(parents=True)
    shutil.copy(ROOT / TASKS_FILE, tmp_path / TASKS_FILE)
    shutil.copy(ROOT / 'configs/cwd/metafile.yml', tmp_path / 'configs/cwd/metafile.yml')
    return tmp_path


def test_tasks_come_from_the_tasks_file():
    tasks = load_tasks()
    assert list(tasks) == ['det', 'cls', 'det_gfl', 'det_yolo', 'det_dino', 'det_rtmdet',
                          'det_yolox', 'det_rtdetr']
    det = tasks['det']
    assert det.baseline == 'configs/baselines/retinanet_student_digits.py'
    assert det.metric_key == 'coco/bbox_mAP' and det.metric == 'mAP50-95'
    assert tasks['cls'].metric_key == 'accuracy/top1'


def test_methods_come_from_the_metafiles():
    methods = load_methods()
    cwd = methods['cwd']
    assert cwd == Method(
        key='cwd', name='CWD', loss='ChannelWiseDivergence', file='kd/losses/feature/cwd.py',
        task='det', paper=cwd.paper, url='https://arxiv.org/abs/2011.13256', about=cwd.about,
        recipes=('configs/cwd/cwd_retinanet_digits.py',
                 'configs/cwd/cwd_dense_kd_retinanet_digits.py'))
    assert '"Channel-wise Knowledge Distillation for Dense Prediction"' in cwd.paper
    assert methods['logits_lp'].recipes == ('configs/logits_lp/logits_mse_resnet_digits_cls.py',
                                            'configs/logits_lp/logits_l1_resnet_digits_cls.py')
    # grouped by task in the order of the tasks file, then by key
    order = list(load_tasks())
    keys = list(methods)
    assert keys == sorted(keys, key=lambda k: (order.index(methods[k].task), k))


def test_a_new_method_is_a_metafile_away(tmp_path):
    root = _checkout(tmp_path)
    assert list(load_methods(str(root))) == ['cwd']
    (root / 'configs' / 'cosine').mkdir()
    (root / 'configs' / 'cosine' / 'metafile.yml').write_text(NEW_METAFILE)
    methods = load_methods(str(root))
    assert list(methods) == ['cosine', 'cwd']
    cosine = methods['cosine']
    assert (cosine.name, cosine.loss, cosine.task) == ('Cosine', 'CosineFeatureLoss', 'det')
    assert cosine.recipes == ('configs/cosine/cosine_retinanet_digits.py', )


def test_metafiles_outside_the_zoo_are_skipped(tmp_path):
    root = _checkout(tmp_path)
    (root / 'configs' / 'other').mkdir()
    (root / 'configs' / 'other' / 'metafile.yml').write_text(
        'Collections:\n- Name: Other\nModels: []\n')
    assert list(load_methods(str(root))) == ['cwd']


@pytest.mark.parametrize('edit, message', [
    (lambda c: c['Zoo'].pop('Recipes'), 'Zoo: Recipes'),
    (lambda c: c['Zoo'].update(Task='nope'), "Task 'nope' is not a task"),
    (lambda c: c['Paper'].pop('URL'), 'Paper: URL'),
    (lambda c: c['Metadata'].pop('Loss'), 'Metadata: Loss'),
])
def test_incomplete_entries_are_refused_with_the_file_and_the_field(tmp_path, edit, message):
    path = tmp_path / 'configs' / 'cosine' / 'metafile.yml'
    path.parent.mkdir(parents=True)
    meta = yaml.safe_load(NEW_METAFILE)
    edit(meta['Collections'][0])
    path.write_text(yaml.safe_dump(meta))
    with pytest.raises(ValueError, match=message) as err:
        method_from_metafile(str(path), load_tasks())
    assert str(path) in str(err.value)


def test_incomplete_tasks_are_refused(tmp_path):
    (tmp_path / 'configs').mkdir()
    (tmp_path / TASKS_FILE).write_text('det:\n  baseline: a.py\n')
    with pytest.raises(ValueError, match="task 'det' lacks teacher"):
        load_tasks(str(tmp_path))


def test_mmengine_reads_metafiles_with_zoo_sections_and_no_models(tmp_path):
    """MMEngine's kd:: lookup iterates every metafile's Models and ignores the Zoo section."""
    from mmengine.config.utils import _get_cfg_metainfo
    mim = tmp_path / '.mim'
    for rel, text in (('configs/cwd/metafile.yml', (ROOT / 'configs/cwd/metafile.yml')
                       .read_text()), ('configs/cosine/metafile.yml', NEW_METAFILE)):
        (mim / rel).parent.mkdir(parents=True, exist_ok=True)
        (mim / rel).write_text(text)
    (mim / 'model-index.yml').write_text(
        'Import:\n  - configs/cosine/metafile.yml\n  - configs/cwd/metafile.yml\n')
    found = _get_cfg_metainfo(str(tmp_path), 'cwd/cwd_retinanet_digits.py')
    assert found['Config'] == 'configs/cwd/cwd_retinanet_digits.py'
