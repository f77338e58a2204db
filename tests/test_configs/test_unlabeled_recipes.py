"""The unlabeled-images recipes (DigitsDet with 20 % of the labels) train two iterations
on tiny data."""
from pathlib import Path

import pytest

from kd.apis import build_runner, load_config
from tests.test_configs.test_quickstart import _tiny_det_overrides
from tests.test_configs.test_recipes import UNLABELED_RECIPES

pytest.importorskip('mmdet')
ROOT = Path(__file__).resolve().parents[2]
RECIPES = UNLABELED_RECIPES


def _tiny(tmp_path, recipe, root):
    path = tmp_path / 'recipe.py'
    lines = [f"_base_ = ['kd::{recipe.split('configs/', 1)[1]}']"]
    text = (ROOT / recipe).read_text()
    if 'student_digits' not in recipe:
        lines.append("model = dict(teacher=dict(checkpoint=None, allow_random_init=True))")
    if 'MultiSourceSampler' in text or 'unlabeled.py' in text:
        lines.append(f"_inner = dict(type='kd.DigitsDetDataset', data_root='{root}/', "
                     "ann_file='annotations/train.json', data_prefix=dict(img='train/'), "
                     "pipeline=[dict(type='LoadImageFromFile'), "
                     "dict(type='LoadAnnotations', with_bbox=True), dict(type='PackDetInputs')])")
        lines.append("train_dataloader = dict(sampler=dict(batch_size=4), dataset=dict("
                     "datasets=[dict(type='kd.SplitLabels', dataset=_inner, labeled_ratio=0.2, "
                     "part='labeled'), dict(type='kd.SplitLabels', dataset=_inner, "
                     "labeled_ratio=0.2, part='unlabeled')]))")
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_recipes_found():
    assert len(RECIPES) == 5


@pytest.mark.parametrize('recipe', RECIPES)
def test_unlabeled_recipe_trains(recipe, tiny_digits_det, tmp_path):
    opts = [o for o in _tiny_det_overrides(tiny_digits_det, tmp_path, iters=2)
            if not o.startswith('model.')]
    text = (ROOT / recipe).read_text()
    if 'MultiSourceSampler' in text or 'unlabeled.py' in text:
        opts = [o for o in opts if not o.startswith('train_dataloader.dataset.data_root')
                and not o.startswith('train_dataloader.batch_size')]
        opts.append('train_dataloader.batch_size=4')
    elif 'SplitLabels' in text:
        opts = [o if not o.startswith('train_dataloader.dataset.data_root') else
                f'train_dataloader.dataset.dataset.data_root={tiny_digits_det}/' for o in opts]
    cfg = load_config(_tiny(tmp_path, recipe, tiny_digits_det), opts)
    runner = build_runner(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    if 'distill_only' in recipe:
        assert not [k for k in scalars if k.startswith('train/student.loss')]
    elif 'student_digits' not in recipe:
        assert 'train/student.loss_cls' in scalars and 'train/distill.fpn' in scalars
    if 'pseudo' in recipe:
        assert 'train/student.pseudo_boxes_per_image' in scalars
