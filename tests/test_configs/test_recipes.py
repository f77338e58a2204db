"""Every distillation recipe builds and trains two iterations (random teacher, tiny data)."""
from pathlib import Path

import pytest
import torch

from kd.apis import build_runner, load_config
from tests.test_configs.test_quickstart import _tiny_det_overrides

pytest.importorskip('mmdet')

ROOT = Path(__file__).resolve().parents[2]


# Recipes with their own test module (they need a pruned checkpoint, a trainable
# teacher or partly labeled data): tests/test_configs/test_workflow_recipes.py and
# test_unlabeled_recipes.py.
WORKFLOW_RECIPES = [f'configs/{p}' for p in (
    'baselines/finetune_pruned_resnet20_digits_cls.py', 'kd/kd_at_resnet_digits_cls.py',
    'kd/kd_cosine_resnet_digits_cls.py', 'kd/kd_init_head_resnet_digits_cls.py',
    'kd/kd_pruned_resnet20_digits_cls.py', 'kd/kd_stop_resnet_digits_cls.py',
    'kd/multi_teacher_kd_resnet_digits_cls.py', 'kd/online_kd_resnet_digits_cls.py')]
UNLABELED_RECIPES = [f'configs/{p}' for p in (
    'cwd/cwd_distill_only_retinanet_digits.py',
    'cwd/cwd_pseudo_retinanet_digits_20pct_unlabeled.py',
    'cwd/cwd_retinanet_digits_20pct.py', 'cwd/cwd_retinanet_digits_20pct_unlabeled.py',
    'baselines/retinanet_student_digits_20pct.py')]


def _recipes(suffix):
    """Every distillation recipe under configs/ (not the plain student/teacher configs)."""
    found = []
    separate = set(WORKFLOW_RECIPES + UNLABELED_RECIPES)
    for path in sorted((ROOT / 'configs').glob(f'*/*{suffix}')):
        if path.parent.name in ('_base_', 'self_distill', 'baselines') \
                or '_student_' in path.name or '_teacher_' in path.name \
                or str(path.relative_to(ROOT)) in separate:
            continue
        found.append(str(path.relative_to(ROOT)))
    return found


DET_RECIPES = _recipes('_retinanet_digits.py')
CLS_RECIPES = _recipes('_resnet_digits_cls.py')


def test_recipe_discovery_finds_the_methods():
    names = {p.split('/')[1] for p in DET_RECIPES + CLS_RECIPES}
    assert {'cwd', 'dense_kd', 'kd', 'pkd', 'mgd', 'at', 'fitnets', 'ickd', 'nst', 'fbkd', 'dkd',
            'dist',
            'wsld', 'sp', 'rkd', 'vid', 'irg', 'crd', 'pkt', 'logits_lp', 'soft_ce'} <= names


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


@pytest.mark.parametrize('config', ['configs/baselines/resnet_student_digits_cls.py',
                                    'configs/baselines/resnet_teacher_digits_cls.py'])
def test_cls_quickstart_trains(config, tiny_digits_cls, tmp_path):
    runner = build_runner(load_config(config, _cls_overrides(tiny_digits_cls, tmp_path)))
    runner.train()
    assert 'accuracy/top1' in runner.val_loop.run()


@pytest.mark.parametrize('recipe', CLS_RECIPES)
def test_cls_kd_recipe_trains(recipe, tiny_digits_cls, tmp_path):
    recipe = _with_random_teacher(tmp_path, recipe)
    runner = build_runner(load_config(recipe, _cls_overrides(tiny_digits_cls, tmp_path)))
    runner.train()
    scalars = runner.message_hub.log_scalars
    distill_keys = [k for k in scalars if k.startswith('train/distill.')]
    assert distill_keys
    assert all(torch.isfinite(torch.tensor(scalars[k].current())) for k in distill_keys)
    assert 'accuracy/top1' in runner.val_loop.run()


def test_byot_recipe_trains(tiny_digits_cls, tmp_path):
    cfg = load_config('configs/self_distill/byot_resnet_digits_cls.py',
                      _cls_overrides(tiny_digits_cls, tmp_path))
    runner = build_runner(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert {'train/distill.exit1', 'train/distill.exit2'} <= set(scalars)
    assert 'accuracy/top1' in runner.val_loop.run()


def test_self_distill_recipe_trains(tiny_digits_cls, tmp_path):
    cfg = load_config('configs/self_distill/ema_kd_resnet_digits_cls.py',
                      _cls_overrides(tiny_digits_cls, tmp_path))
    runner = build_runner(cfg)
    runner.train()
    assert 'train/distill.logits' in runner.message_hub.log_scalars
    assert int(runner.model.ema_updates) > 0
