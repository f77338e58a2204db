"""COCO recipes of the FPN feature losses (CWD, MGD, PKD, FitNets) on four detector families.

They build with a random teacher and no download; their teachers are MMDetection model-zoo
checkpoints (the ``Weights:`` of a model in the installed mmdet metafile).
"""
from pathlib import Path

import pytest

pytest.importorskip('mmdet')

ROOT = Path(__file__).resolve().parents[2]

#: family (recipe name between method and _coco.py) -> (mmdet config folder, detector
#: class, FPN levels distilled; the PKD recipes take the first four, as MMRazor's)
FAMILIES = {
    'retinanet_x101_retinanet_r50_fpn_2x': ('retinanet', 'RetinaNet', 5),
    'fcos_r101-caffe_fcos_r50-caffe_fpn_ms-2x': ('fcos', 'FCOS', 5),
    'gfl_r101_gfl_r50_fpn_1x': ('gfl', 'GFL', 5),
    'faster-rcnn_r101_faster-rcnn_r50_fpn_2x': ('faster_rcnn', 'FasterRCNN', 4),
}
#: method folder -> (loss type, connector type or None)
METHODS = {
    'cwd': ('ChannelWiseDivergence', None),
    'mgd': ('MGDLoss', None),
    'pkd': ('PKDLoss', None),
    'fitnets': ('FeatureMSELoss', 'ConvConnector'),
}
RECIPES = [f'configs/{m}/{m}_{f}_coco.py' for m in METHODS for f in FAMILIES]


def _parts(recipe):
    method = recipe.split('/')[1]
    family = Path(recipe).name[len(method) + 1:-len('_coco.py')]
    return method, family


def test_sixteen_recipes_exist_and_are_not_digits_recipes():
    assert len(RECIPES) == 16
    for recipe in RECIPES:
        assert (ROOT / recipe).is_file(), recipe
        assert not recipe.endswith('_retinanet_digits.py')


@pytest.mark.parametrize('recipe', RECIPES)
def test_recipe_builds_without_downloading(recipe):
    from mmengine.registry import DefaultScope

    from kd.apis import load_config
    from kd.registry import MODELS
    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    method, family = _parts(recipe)
    folder, detector, levels = FAMILIES[family]
    loss_type, connector_type = METHODS[method]
    if method == 'pkd':   # MMRazor's PKD recipes distil neck outputs 0-3 only
        levels = 4
    cfg = load_config(str(ROOT / recipe), ['model.teacher.checkpoint=None',
                                           'model.teacher.allow_random_init=True',
                                           'model.probe_shape=[3,64,64]'])
    assert cfg.model.teacher.config.startswith(f'mmdet::{folder}/')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)   # no init_weights(): nothing is downloaded
    student, teacher = model.student, model.teacher
    assert type(student).__name__ == type(teacher).__name__ == detector
    losses = model.entries['fpn'].losses
    assert len(losses) == levels
    assert {type(m).__name__ for m in losses} == {loss_type}
    if connector_type is None:
        assert model.entries['fpn'].connectors is None
    else:
        connectors = model.entries['fpn'].connectors
        assert len(connectors) == levels
        assert {type(c).__name__ for c in connectors} == {connector_type}
    if method == 'mgd':   # 256 -> 256: no align conv, only the generation block
        assert all(m.align is None and m.teacher_channels == 256 for m in losses)
    n_student = sum(p.numel() for p in student.parameters())
    n_teacher = sum(p.numel() for p in teacher.parameters())
    assert n_teacher > 1.3 * n_student
    one_stage_mgd = method == 'mgd' and folder != 'faster_rcnn'
    assert model._init_from_teacher == (['neck', 'bbox_head'] if one_stage_mgd else [])
    if one_stage_mgd:
        assert model.init_report['copied'] and not model.init_report['skipped']
    assert any(h.get('type') == 'kd.StudentCheckpointHook' for h in cfg.custom_hooks)
    _loss_step(model)   # one tiny loss-mode step through both detectors


def _loss_step(model):
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    sample = DetDataSample(metainfo=dict(img_shape=(64, 96), pad_shape=(64, 96),
                                         batch_input_shape=(64, 96)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[4.0, 6.0, 40.0, 50.0]]),
                                       labels=torch.tensor([3]))
    g = torch.Generator().manual_seed(0)
    image = torch.randint(0, 255, (3, 64, 96), generator=g, dtype=torch.uint8)
    data = model.data_preprocessor(dict(inputs=[image], data_samples=[sample]), True)
    out = model(data['inputs'], data['data_samples'], mode='loss')
    assert torch.isfinite(out['distill.fpn']) and out['distill.fpn'] > 0


@pytest.mark.parametrize('recipe', RECIPES)
def test_teacher_url_is_a_model_zoo_checkpoint(recipe):
    import mmdet
    import yaml
    from mmengine.config import Config
    _, family = _parts(recipe)
    folder = FAMILIES[family][0]
    zoo = Path(mmdet.__file__).parent / '.mim' / 'configs' / folder / 'metafile.yml'
    if not zoo.is_file():
        pytest.skip(f'{zoo} not installed')
    models = yaml.safe_load(zoo.read_text())['Models']
    cfg = Config.fromfile(str(ROOT / recipe))
    by_weights = {m.get('Weights'): m for m in models}
    assert cfg.teacher_ckpt in by_weights, recipe
    assert cfg.model.teacher.checkpoint == cfg.teacher_ckpt
    # and it is the checkpoint of the teacher config the recipe builds
    entry = by_weights[cfg.teacher_ckpt]
    assert cfg.model.teacher.config == 'mmdet::' + entry['Config'].split('configs/', 1)[1]
