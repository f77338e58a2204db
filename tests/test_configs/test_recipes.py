"""Every distillation recipe builds and trains two iterations (random teacher, tiny data)."""
import pytest
import torch

from kd.apis import build_runner, load_config
from tests.test_configs.test_quickstart import _tiny_det_overrides

pytest.importorskip('mmdet')

DET_RECIPES = ['configs/quickstart/cwd_retinanet_digits.py',
               'configs/quickstart/dense_kd_retinanet_digits.py',
               'configs/pkd/pkd_retinanet_digits.py', 'configs/mgd/mgd_retinanet_digits.py',
               'configs/at/at_retinanet_digits.py', 'configs/fitnets/fitnets_retinanet_digits.py']


def _with_random_teacher(tmp_path, recipe):
    path = tmp_path / 'recipe.py'
    path.write_text(f"_base_ = ['kd::{recipe.split('configs/', 1)[1]}']\n"
                    "model = dict(teacher=dict(checkpoint=None, allow_random_init=True))\n")
    return str(path)


def _cls_overrides(root, work_dir, iters=2):
    opts = [f'work_dir={work_dir}', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={root}',
                 f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False',
                 f'{split}_dataloader.batch_size=32']
    return opts + ['default_hooks.logger.interval=1', 'param_scheduler=[]']


@pytest.mark.parametrize('recipe', DET_RECIPES)
def test_det_recipe_trains(recipe, tiny_digits_det, tmp_path):
    opts = [o for o in _tiny_det_overrides(tiny_digits_det, tmp_path, iters=2)
            if not o.startswith('model.')]
    cfg = load_config(_with_random_teacher(tmp_path, recipe), opts)
    runner = build_runner(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    distill_keys = [k for k in scalars if k.startswith('train/distill.')]
    assert distill_keys and 'train/student.loss_cls' in scalars
    assert all(torch.isfinite(torch.tensor(scalars[k].current())) for k in distill_keys)


@pytest.mark.parametrize('config', ['configs/quickstart/resnet_student_digits_cls.py',
                                    'configs/quickstart/resnet_teacher_digits_cls.py'])
def test_cls_quickstart_trains(config, tiny_digits_cls, tmp_path):
    runner = build_runner(load_config(config, _cls_overrides(tiny_digits_cls, tmp_path)))
    runner.train()
    assert 'accuracy/top1' in runner.val_loop.run()


@pytest.mark.parametrize('recipe', ['configs/quickstart/kd_resnet_digits_cls.py',
                                    'configs/dkd/dkd_resnet_digits_cls.py',
                                    'configs/dist/dist_resnet_digits_cls.py',
                                    'configs/wsld/wsld_resnet_digits_cls.py'])
def test_cls_kd_recipe_trains(recipe, tiny_digits_cls, tmp_path):
    recipe = _with_random_teacher(tmp_path, recipe)
    runner = build_runner(load_config(recipe, _cls_overrides(tiny_digits_cls, tmp_path)))
    runner.train()
    assert 'train/distill.logits' in runner.message_hub.log_scalars
    assert 'accuracy/top1' in runner.val_loop.run()


def test_self_distill_recipe_trains(tiny_digits_cls, tmp_path):
    cfg = load_config('configs/self_distill/ema_kd_resnet_digits_cls.py',
                      _cls_overrides(tiny_digits_cls, tmp_path))
    runner = build_runner(cfg)
    runner.train()
    assert 'train/distill.logits' in runner.message_hub.log_scalars
    assert int(runner.model.ema_updates) > 0
