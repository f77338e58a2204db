"""CrossKD recipes: the DigitsDet one trains a step with a hidden teacher; the COCO ones merge."""
import pytest
import torch

from kd.apis import build_runner, load_config
from tests.test_configs.test_quickstart import _tiny_det_overrides
from tests.test_configs.test_recipes import _with_random_teacher

pytest.importorskip('mmdet')


def test_digits_recipe_one_step_teacher_hidden(tiny_digits_det, tmp_path):
    opts = [o for o in _tiny_det_overrides(tiny_digits_det, tmp_path, iters=1)
            if not o.startswith('model.')]
    cfg = load_config(_with_random_teacher(tmp_path, 'configs/crosskd/crosskd_retinanet_digits.py'),
                      opts)
    runner = build_runner(cfg)
    runner.train()
    model = runner.model
    loss_fn = model.entries['crosskd'].losses[0]
    assert loss_fn.head is model.teacher.bbox_head and loss_fn.depth == 1
    optimised = {id(p) for g in runner.optim_wrapper.optimizer.param_groups for p in g['params']}
    assert not optimised & {id(p) for p in model.teacher.parameters()}
    assert {id(p) for p in loss_fn.adapters.parameters()} <= optimised
    assert not [k for k in model.state_dict() if k.startswith('teacher')]
    scalars = runner.message_hub.log_scalars
    assert torch.isfinite(torch.tensor(scalars['train/distill.crosskd'].current()))


@pytest.mark.parametrize('recipe', ['crosskd_gfl_r101_gfl_r50_fpn_1x_coco.py',
                                    'crosskd_retinanet_r101_retinanet_r50_fpn_2x_coco.py'])
def test_coco_recipes_merge(recipe):
    from mmengine.config import Config
    cfg = Config.fromfile(f'configs/crosskd/{recipe}')
    entry = cfg.model.distill.crosskd
    assert entry.teacher_module == 'bbox_head' and entry.levelwise is False
    assert entry.student.depth == entry.teacher.depth == entry.loss.depth == 3
    assert cfg.model.teacher.checkpoint.startswith('https://download.openmmlab.com/')


def test_combined_digits_recipe_adds_cwd_and_stops_before_the_end():
    from mmengine.config import Config
    cfg = Config.fromfile('configs/crosskd/crosskd_cwd_retinanet_digits.py')
    assert set(cfg.model.distill) == {'crosskd', 'fpn'}
    assert cfg.model.distill.fpn.loss.type == 'ChannelWiseDivergence'
    # the CrossKD entry is the plain recipe's, teacher outputs recorded
    assert cfg.model.distill.crosskd.teacher.outputs == ['retina_cls', 'retina_reg']
    assert cfg.custom_hooks == [dict(type='kd.StopDistillHook', stop_iter=3000 - 200)]
    assert cfg.train_cfg.max_iters == 3000
