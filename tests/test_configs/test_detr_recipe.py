"""The DETR distillation recipes: DINO on DigitsDet trains, the COCO recipe builds."""
from pathlib import Path

import pytest
import torch

from kd.apis import build_runner, load_config
from tests.test_configs.test_quickstart import _tiny_det_overrides

pytest.importorskip('mmdet')
pytest.importorskip('scipy')

ROOT = Path(__file__).resolve().parents[2]
DIGITS_RECIPE = 'configs/detr_kd/detr_kd_dino_digits.py'
COCO_RECIPE = 'configs/detr_kd/detr_kd_dino_r50_dino_r18_coco.py'


def _random_teacher(tmp_path, recipe, extra=''):
    path = tmp_path / 'recipe.py'
    path.write_text(f"_base_ = ['kd::{recipe.split('configs/', 1)[1]}']\n"
                    "model = dict(teacher=dict(checkpoint=None, allow_random_init=True))\n"
                    + extra)
    return str(path)


def test_dino_digits_recipe_trains(tiny_digits_det, tmp_path, monkeypatch):
    from kd.losses import DETRDistillLoss
    shapes = []
    forward = DETRDistillLoss.forward

    def spy(self, student, teacher):
        shapes.append((tuple(student[0].shape), tuple(teacher[0].shape)))
        return forward(self, student, teacher)

    monkeypatch.setattr(DETRDistillLoss, 'forward', spy)
    # a random teacher is never confident: take its 5 best queries per image so
    # that the matching and the box terms run too
    recipe = _random_teacher(tmp_path, DIGITS_RECIPE, 'model.update(distill=dict(detr=dict('
                             'loss=dict(score_thr=0.0, topk=5))))\n')
    opts = [o for o in _tiny_det_overrides(tiny_digits_det, tmp_path, iters=2)
            if not o.startswith('model.')]
    runner = build_runner(load_config(recipe, opts))
    distiller = runner.model
    assert distiller.teacher_side.forward_mode == 'tensor'  # DETR heads need the decoder outputs
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert 'train/student.loss_cls' in scalars and 'train/student.dn_loss_cls' in scalars
    value = torch.tensor(scalars['train/distill.detr'].current())
    assert torch.isfinite(value) and value > 0
    # in training the student's record carries DINO's denoising queries in
    # front of its 30 matching queries; the teacher (eval mode) has none
    train = [(s, t) for s, t in shapes if s[1] == 4]  # batch 4 (the probe batch has 2)
    assert len(train) == 2   # one call per iteration
    for s_shape, t_shape in train:
        assert s_shape[0] == 2 and t_shape[0] == 3      # decoder layers
        assert t_shape[1] == 4                           # images
        assert s_shape[2] > 30 and t_shape[2] == 30      # queries
        assert s_shape[3] == t_shape[3] == 10            # classes


def test_dino_digits_teacher_is_bigger():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    sizes = {}
    for name in ('student', 'teacher'):
        cfg = Config.fromfile(str(ROOT / f'configs/detr_kd/dino_{name}_digits.py'))
        model = MODELS.build(cfg.model)
        sizes[name] = sum(p.numel() for p in model.parameters())
        assert model.num_queries == 30 and model.bbox_head.num_classes == 10
    assert sizes['teacher'] > 1.5 * sizes['student']


def test_coco_recipe_builds_without_download(tmp_path):
    import mmdet
    import yaml
    from mmengine.registry import DefaultScope

    from kd.registry import MODELS

    cfg = load_config(COCO_RECIPE)
    # the teacher checkpoint is the model-zoo file of the teacher config
    meta = Path(mmdet.__file__).parent / '.mim/configs/dino/metafile.yml'
    models = {m['Name']: m for m in yaml.safe_load(meta.read_text())['Models']}
    assert cfg.model.teacher.checkpoint == \
        models['dino-4scale_r50_8xb2-12e_coco']['Weights']
    assert cfg.model.teacher.config == 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'

    cfg = load_config(_random_teacher(tmp_path, COCO_RECIPE))
    with DefaultScope.overwrite_default_scope('mmdet'):
        distiller = MODELS.build(cfg.model)   # no init_weights: nothing is downloaded
    student, teacher = distiller.student, distiller.teacher
    assert student.backbone.depth == 18 and teacher.backbone.depth == 50
    assert student.num_queries == teacher.num_queries == 900
    assert student.bbox_head.num_classes == teacher.bbox_head.num_classes == 80
    assert distiller.entries['detr'].losses[0].num_queries == 900
    assert sum(p.numel() for p in teacher.parameters()) > \
        sum(p.numel() for p in student.parameters()) + 10_000_000
