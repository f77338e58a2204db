"""Every CIFAR-100 config (configs/*/*_cifar100.py) builds and takes one training step on
a tiny synthetic
CIFAR-100 folder (teachers randomly initialised); one recipe runs through the Runner."""
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper

from kd.apis import build_runner, load_config
from kd.datasets.cifar import write_cifar_batch
from kd.registry import DATASETS, MODELS
from kd.utils import register_all_modules

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / 'configs'
PATHS = {p.name: p for p in CONFIG_DIR.glob('*/*_cifar100.py')}
CONFIGS = sorted(PATHS)
METHODS = ('kd_ls', 'dkd_ls', 'mlkd_ls', 'kd', 'dkd', 'dist', 'fitnets', 'at', 'sp', 'rkd', 'vid',
           'crd', 'mlkd', 'ctkd', 'dot')


def _method(name):
    """The recipe's method prefix (the longest of METHODS), or None for a plain model config."""
    found = [m for m in METHODS if name.startswith(m + '_')]
    return max(found, key=len) if found else None


RECIPES = [c for c in CONFIGS if _method(c)]


@pytest.fixture(scope='module')
def tiny_cifar100(tmp_path_factory):
    """8 train / 4 test images in the official layout (data_root/cifar-100-python/)."""
    root = tmp_path_factory.mktemp('data') / 'cifar100'
    rng = np.random.RandomState(0)
    folder = root / 'cifar-100-python'
    write_cifar_batch(str(folder / 'train'), rng.randint(0, 256, (8, 32, 32, 3)),
                      [0, 1, 2, 3, 0, 1, 2, 3])
    write_cifar_batch(str(folder / 'test'), rng.randint(0, 256, (4, 32, 32, 3)), [0, 1, 2, 3])
    return str(root)


def _load(name):
    cfg = load_config(str(PATHS[name]))
    if 'teacher' in cfg.model:
        cfg.model.teacher.checkpoint = None
        cfg.model.teacher.allow_random_init = True
    return cfg


def test_discovery_and_readme():
    assert len(RECIPES) >= 20 and {'resnet32x4_cifar100.py', 'shufflev2_cifar100.py'} <= set(
        CONFIGS)
    readme = (ROOT / 'docs' / 'cifar100.md').read_text()
    for name in CONFIGS:
        assert name in readme, f'{name} is not listed in docs/cifar100.md'


@pytest.mark.parametrize('name', CONFIGS)
def test_cifar100_config_trains_one_step(name, tiny_cifar100):
    register_all_modules()
    cfg = _load(name)
    assert cfg.train_cfg.max_epochs == 240
    assert cfg.param_scheduler[0].milestones == [150, 180, 210]
    lr = cfg.optim_wrapper.optimizer.lr
    assert lr == (0.01 if 'shufflev2' in name else 0.05)
    model = MODELS.build(cfg.model)
    is_recipe = name in RECIPES
    if is_recipe:   # the teacher config and checkpoint path name the same network
        teacher_cfg = osp.basename(cfg.model.teacher.config)
        assert cfg.teacher_ckpt == f'work_dirs/{osp.splitext(teacher_cfg)[0]}/epoch_240.pth'
        assert name[len(_method(name)) + 1:].startswith(osp.splitext(teacher_cfg)[0].replace(
            '_cifar100', ''))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = tiny_cifar100
    dataset = DATASETS.build(ds_cfg)
    batch = pseudo_collate([dataset[0], dataset[5]])
    if name.startswith('crd_'):
        assert batch['data_samples'][0].contrast_idx.shape == (16385, )
    student = model.student if is_recipe else model
    before = {k: v.clone() for k, v in student.state_dict().items()}
    if is_recipe:
        teacher_before = [p.clone() for p in model.teacher.parameters()]
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    log = model.train_step(batch, optim)
    assert torch.isfinite(log['loss'])
    # the whole student (stem included) is updated
    first_conv = next(k for k, v in before.items() if v.dim() == 4)
    for key in (first_conv, 'head.fc.weight'):
        assert not torch.equal(before[key], student.state_dict()[key]), key
    if is_recipe:
        assert any(k.startswith('distill.') for k in log)
        assert all(torch.equal(a, b) for a, b in zip(teacher_before, model.teacher.parameters()))


def _one_epoch_opts(work_dir, data_root):
    """One epoch on the tiny folder, batch 4, no worker processes."""
    opts = [f'work_dir={work_dir}', 'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data_root}',
                 f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False',
                 f'{split}_dataloader.batch_size=4']
    return opts


def test_kd_recipe_runs_in_the_runner(tiny_cifar100, tmp_path):
    """RepDistiller's KD weights: CE x 0.1 (student_loss_schedule) + KL x 0.9; top-1/top-5."""
    recipe = tmp_path / 'recipe.py'
    recipe.write_text("_base_ = ['kd::kd/kd_resnet56_resnet20_cifar100.py']\n"
                      "model = dict(teacher=dict(checkpoint=None, allow_random_init=True))\n")
    runner = build_runner(load_config(str(recipe), _one_epoch_opts(tmp_path, tiny_cifar100)))
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert scalars['train/factor.student'].current() == pytest.approx(0.1)
    assert np.isfinite(scalars['train/distill.logits'].current())
    metrics = runner.val_loop.run()
    assert {'accuracy/top1', 'accuracy/top5'} <= set(metrics)


def test_dot_and_ctkd_recipes_run_in_the_runner(tiny_cifar100, tmp_path):
    """The DOT wrapper is built from the recipe and keeps both momentum buffers; CTKD trains."""
    from kd.engine import DOTOptimWrapper
    for recipe_name in ('dot_resnet56_resnet20', 'ctkd_resnet56_resnet20'):
        base = recipe_name if recipe_name.startswith('ctkd') else 'kd_resnet56_resnet20'
        recipe = tmp_path / f'{recipe_name}.py'
        extra = ''
        if recipe_name.startswith('dot'):   # the DOT recipes' wrapper on the smallest pair
            extra = ("optim_wrapper = dict(_delete_=True, type='kd.DOTOptimWrapper', delta=0.075,"
                     " optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))\n")
        folder = PATHS[f'{base}_cifar100.py'].parent.name
        recipe.write_text(f"_base_ = ['kd::{folder}/{base}_cifar100.py']\n"
                          "model = dict(teacher=dict(checkpoint=None, allow_random_init=True))\n"
                          + extra)
        opts = _one_epoch_opts(tmp_path / recipe_name, tiny_cifar100)
        runner = build_runner(load_config(str(recipe), opts))
        runner.train()
        assert np.isfinite(runner.message_hub.log_scalars['train/distill.logits'].current())
        if recipe_name.startswith('dot'):
            assert isinstance(runner.optim_wrapper, DOTOptimWrapper)
            fc = runner.model.student.head.fc.weight
            assert {'momentum_buffer', 'momentum_kd_buffer'} <= set(
                runner.optim_wrapper.optimizer.state[fc])
        else:
            theta = runner.model.entries['logits'].losses[0].temperature.theta
            assert theta.grad is None and torch.isfinite(theta).all()
