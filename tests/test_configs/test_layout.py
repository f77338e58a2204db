"""configs/ is organised on one axis: one folder per method (plus baselines/ and the
models of their own, rtdetr/), each with its recipes and a README; shared parts in _base_/."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs'


def test_every_folder_has_recipes_and_a_readme():
    folders = [p for p in CONFIGS.iterdir() if p.is_dir() and p.name != '_base_']
    assert len(folders) >= 30
    for folder in folders:
        assert (folder / 'README.md').is_file(), f'{folder} has no README.md'
        assert list(folder.glob('*.py')), f'{folder} holds no config'


def test_no_per_benchmark_folders_and_no_nested_recipes():
    names = {p.name for p in CONFIGS.iterdir() if p.is_dir()}
    assert not names & {'quickstart', 'cifar100', 'workflows', 'unlabeled'}
    nested = [p for p in CONFIGS.glob('*/*/*.py') if p.parts[-3] != '_base_']
    assert nested == []


def test_runtime_bases_carry_the_distillation_tail():
    """The hooks and val loop every distillation recipe needs come from the bases, so a
    recipe inheriting a kd student needs nothing after `model` (docs/architecture.md)."""
    from mmengine.config import Config
    for name in ('default_runtime_det.py', 'default_runtime_cls.py'):
        hooks = Config.fromfile(str(CONFIGS / '_base_' / name)).default_hooks
        assert hooks.student_checkpoint.type == 'kd.StudentCheckpointHook'
        assert hooks.weights_consistency.type == 'kd.WeightsConsistencyHook'
    for path in (CONFIGS / '_base_' / 'schedules').glob('*.py'):
        assert Config.fromfile(str(path)).val_cfg.type == 'kd.DistillValLoop', path
    cfg = Config.fromfile(str(CONFIGS / 'cwd' / 'cwd_retinanet_digits.py'))
    assert cfg.val_cfg.type == 'kd.DistillValLoop'
    assert 'custom_hooks' not in cfg
