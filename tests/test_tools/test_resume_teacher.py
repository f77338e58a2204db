"""--resume after a run whose teacher checkpoint came from --cfg-options: no need to repeat it."""
import importlib.util
import os.path as osp

import pytest
import torch

from tests.test_configs.test_quickstart import _tiny_det_overrides

pytest.importorskip('mmdet')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECIPE = 'configs/cwd/cwd_retinanet_digits.py'


def _train_tool():
    spec = importlib.util.spec_from_file_location('kd_train_tool',
                                                  osp.join(ROOT, 'tools', 'train.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _teacher_file(path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, 'configs/baselines/retinanet_teacher_digits.py'))
    with DefaultScope.overwrite_default_scope('mmdet'):
        torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)


def _opts(root, work_dir, iters):
    opts = [o for o in _tiny_det_overrides(root, work_dir, iters=iters)
            if not o.startswith('model.test_cfg')]
    return opts + ['default_hooks.checkpoint.interval=1', 'train_cfg.val_begin=100',
                   'model.probe_shape=[3,64,64]']


def test_resume_reuses_the_first_runs_teacher(tiny_digits_det, tmp_path, monkeypatch, capsys):
    teacher = str(tmp_path / 'my_teacher.pth')
    _teacher_file(teacher)
    work = tmp_path / 'run'
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr('sys.argv', ['train.py', RECIPE, '--cfg-options']
                        + _opts(tiny_digits_det, work, 1)
                        + [f'model.teacher.checkpoint={teacher}'])
    _train_tool().main()
    assert osp.isfile(work / 'iter_1.pth')
    capsys.readouterr()
    # the recipe's own teacher path does not exist here; the option is not repeated
    monkeypatch.setattr('sys.argv', ['train.py', RECIPE, '--resume', '--cfg-options']
                        + _opts(tiny_digits_det, work, 2)
                        + ['model.teacher.checkpoint=/nowhere/iter_3000.pth'])
    _train_tool().main()
    out = capsys.readouterr()
    text = out.out + out.err
    assert f'using the first run\'s "{teacher}"' in text
    assert 'Iter(train) [2/2]' in text and 'Iter(train) [1/2]' not in text   # resumed
    assert osp.isfile(work / 'iter_2.pth')
