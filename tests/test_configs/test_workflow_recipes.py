"""Every workflow recipe (pruned students, schedules, several or trainable teachers) trains
two iterations on tiny data."""
import importlib.util
from pathlib import Path

import pytest
import torch

from kd.apis import build_runner, load_config
from tests.test_configs.test_recipes import WORKFLOW_RECIPES, _cls_overrides

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = WORKFLOW_RECIPES


def _prune_tool():
    spec = importlib.util.spec_from_file_location(
        'prune_resnet_blocks', ROOT / 'tools' / 'misc' / 'prune_resnet_blocks.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _teacher_model():
    from mmengine.config import Config

    import kd  # noqa: F401
    from kd.registry import MODELS
    return MODELS.build(Config.fromfile(
        str(ROOT / 'configs/baselines/resnet_teacher_digits_cls.py')).model)


def _random_teachers(tmp_path, recipe):
    """A wrapper config: random teachers, and a pruned random ResNet-20 for model_file."""
    lines = [f"_base_ = ['kd::{recipe.split('configs/', 1)[1]}']"]
    text = (ROOT / recipe).read_text()
    if 'MultiTeacherDistiller' in text:
        lines.append("model = dict(teachers=dict("
                     "t0=dict(checkpoint=None, allow_random_init=True), "
                     "t1=dict(checkpoint=None, allow_random_init=True)))")
    elif 'pruned' in recipe:
        model = _teacher_model()
        _prune_tool().prune_model(model, 0.5)
        torch.save(model, tmp_path / 'pruned.pth')
        lines.append(f"model = dict(teacher=dict(checkpoint=None, allow_random_init=True), "
                     f"student=dict(model_file='{tmp_path / 'pruned.pth'}'))")
    else:
        lines.append("model = dict(teacher=dict(checkpoint=None, allow_random_init=True))")
    path = tmp_path / 'recipe.py'
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_workflows_are_found():
    names = {Path(p).stem for p in WORKFLOWS}
    assert {'kd_cosine_resnet_digits_cls', 'kd_stop_resnet_digits_cls', 'kd_at_resnet_digits_cls',
            'multi_teacher_kd_resnet_digits_cls', 'online_kd_resnet_digits_cls',
            'kd_init_head_resnet_digits_cls', 'kd_pruned_resnet20_digits_cls',
            'finetune_pruned_resnet20_digits_cls'} <= names


@pytest.mark.parametrize('recipe', WORKFLOWS)
def test_workflow_recipe_trains(recipe, tiny_digits_cls, tmp_path):
    cfg = load_config(_random_teachers(tmp_path, recipe), _cls_overrides(tiny_digits_cls, tmp_path))
    runner = build_runner(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert 'train/student.loss_cls' in scalars
    if 'finetune' in recipe:    # weight held at 0: the entry is skipped, the teacher never runs
        assert 'train/distill.logits' not in scalars
        assert scalars['train/factor.logits'].current() == 0
    else:
        assert 'train/distill.logits' in scalars
    if 'online' in recipe:
        assert 'train/teacher.loss_cls' in scalars
    if '_at_' in recipe:
        assert 'train/distill.stages' in scalars
    assert 'accuracy/top1' in runner.val_loop.run()


def test_prune_keeps_the_largest_filters_and_the_function():
    torch.manual_seed(0)
    tool = _prune_tool()
    model = _teacher_model().eval()
    x = torch.randn(2, 3, 32, 32)
    block = model.backbone.layer2[1]
    norms = block.conv1.weight.detach().abs().sum(dim=(1, 2, 3))
    expected = sorted(norms.argsort(descending=True)[:16].tolist())
    w1 = block.conv1.weight.detach()[expected].clone()
    w2 = block.conv2.weight.detach()[:, expected].clone()
    with torch.no_grad():
        full = model(x, mode='tensor')
    changes = dict((n, (b, a)) for n, b, a in tool.prune_model(model, 0.5))
    assert changes['backbone.layer2.1'] == (32, 16)
    assert torch.equal(block.conv1.weight, w1) and torch.equal(block.conv2.weight, w2)
    assert block.bn1.running_mean.shape == (16, )
    with torch.no_grad():
        pruned = model(x, mode='tensor')
    assert pruned.shape == full.shape

    model2 = _teacher_model().eval()
    with torch.no_grad():
        before = model2(x, mode='tensor')
        tool.prune_model(model2, 1.0)       # keeping everything changes nothing
        assert torch.allclose(model2(x, mode='tensor'), before, atol=1e-6)
