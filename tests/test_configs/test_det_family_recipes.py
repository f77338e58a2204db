"""LD (GFL) and YOLOv3 objectness KD: DigitsDet configs train, COCO recipes build."""
from pathlib import Path

import pytest
import torch

from kd.apis import build_runner, load_config
from tests.test_configs.test_quickstart import _tiny_det_overrides
from tests.test_configs.test_recipes import _with_random_teacher

pytest.importorskip('mmdet')

ROOT = Path(__file__).resolve().parents[2]

#: DigitsDet distillation recipes of detector families other than RetinaNet
#: (tests/test_configs/test_recipes.py covers configs/*/*_retinanet_digits.py)
FAMILY_RECIPES = ['configs/ld/ld_gfl_digits.py', 'configs/yolo_kd/yolo_kd_yolov3_digits.py']
PLAIN_CONFIGS = {
    'gfl': ('configs/ld/gfl_student_digits.py', 'configs/ld/gfl_teacher_digits.py'),
    'yolov3': ('configs/yolo_kd/yolov3_student_digits.py',
               'configs/yolo_kd/yolov3_teacher_digits.py'),
}
COCO_RECIPES = {
    'configs/ld/ld_gfl_r101_gfl_r18_1x_coco.py': ('gfl', 'gfl_r101_fpn_ms-2x_coco'),
    'configs/yolo_kd/yolo_kd_yolov3_d53_mobilenetv2_coco.py':
        ('yolo', 'yolov3_d53_mstrain-608_273e_coco'),
}


@pytest.mark.parametrize('recipe', FAMILY_RECIPES)
def test_family_recipe_trains(recipe, tiny_digits_det, tmp_path, monkeypatch):
    from kd.losses import LDLoss
    regions = []
    original = LDLoss.regions

    def spy(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        regions.append((int(out[0].sum()), float(out[1].sum())))
        return out

    monkeypatch.setattr(LDLoss, 'regions', spy)
    opts = [o for o in _tiny_det_overrides(tiny_digits_det, tmp_path, iters=2)
            if not o.startswith('model.')]
    runner = build_runner(load_config(_with_random_teacher(tmp_path, recipe), opts))
    runner.train()
    scalars = runner.message_hub.log_scalars
    distill_keys = [k for k in scalars if k.startswith('train/distill.')]
    assert distill_keys and 'train/student.loss_cls' in scalars
    for key in distill_keys:
        value = torch.tensor(scalars[key].current())
        assert torch.isfinite(value) and value > 0, key
    if 'ld_gfl' in recipe:   # the regions come from the batch's gt boxes
        assert len(regions) == 2 and all(p > 0 and v > 0 for p, v in regions)


@pytest.mark.parametrize('family', sorted(PLAIN_CONFIGS))
def test_plain_configs_train_and_teacher_is_bigger(family, tiny_digits_det, tmp_path):
    from mmdet.registry import MODELS
    sizes = []
    for i, config in enumerate(PLAIN_CONFIGS[family]):
        work = tmp_path / str(i)
        runner = build_runner(load_config(config, _tiny_det_overrides(tiny_digits_det, work)))
        runner.train()
        assert 'coco/bbox_mAP' in runner.val_loop.run()
        model = runner.model
        assert isinstance(model, MODELS.get('GFL' if family == 'gfl' else 'YOLOV3'))
        sizes.append(sum(p.numel() for p in model.parameters()))
    assert sizes[1] > 3 * sizes[0]


def test_ld_digits_loss_uses_the_heads_anchors():
    cfg = load_config('configs/ld/ld_gfl_digits.py')
    loss = cfg.model.distill.ld.loss
    head = cfg.model.student.bbox_head
    assert loss.anchor_generator == head.anchor_generator and loss.reg_max == head.reg_max
    teacher = load_config('configs/ld/gfl_teacher_digits.py').model.bbox_head
    assert teacher.anchor_generator == head.anchor_generator and teacher.reg_max == head.reg_max


def test_yolo_digits_heads_share_anchors():
    student = load_config('configs/yolo_kd/yolov3_student_digits.py').model.bbox_head
    teacher = load_config('configs/yolo_kd/yolov3_teacher_digits.py').model.bbox_head
    assert student.anchor_generator == teacher.anchor_generator
    assert student.num_classes == teacher.num_classes == 10


@pytest.mark.parametrize('recipe', sorted(COCO_RECIPES))
def test_coco_recipe_builds_without_download(recipe, tmp_path):
    import mmdet
    import yaml
    from mmengine.registry import DefaultScope

    from kd.registry import MODELS

    folder, teacher_name = COCO_RECIPES[recipe]
    cfg = load_config(recipe)
    meta = Path(mmdet.__file__).parent / f'.mim/configs/{folder}/metafile.yml'
    models = {m['Name']: m for m in yaml.safe_load(meta.read_text())['Models']}
    assert cfg.model.teacher.checkpoint == models[teacher_name]['Weights']
    assert cfg.model.teacher.config.startswith(f'mmdet::{folder}/')

    cfg = load_config(_with_random_teacher(tmp_path, recipe))
    with DefaultScope.overwrite_default_scope('mmdet'):
        distiller = MODELS.build(cfg.model)   # no init_weights: nothing is downloaded
    student, teacher = distiller.student, distiller.teacher
    assert student.bbox_head.num_classes == teacher.bbox_head.num_classes == 80
    assert sum(p.numel() for p in teacher.parameters()) > \
        2 * sum(p.numel() for p in student.parameters())
    loss = next(iter(distiller.entries.values())).losses[0]
    if folder == 'gfl':
        assert student.backbone.depth == 18 and teacher.backbone.depth == 101
        assert loss.reg_max == student.bbox_head.reg_max == teacher.bbox_head.reg_max == 16
        assert loss.prior_generator.strides == student.bbox_head.prior_generator.strides
    else:
        assert type(student.backbone).__name__ == 'MobileNetV2'
        assert type(teacher.backbone).__name__ == 'Darknet'
        assert student.bbox_head.prior_generator.base_sizes == \
            teacher.bbox_head.prior_generator.base_sizes
        assert loss.num_classes == 80
