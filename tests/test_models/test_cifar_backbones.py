"""The CIFAR backbones of the distillation benchmarks: stage shapes, parameter counts,
registration, use inside ImageClassifier and the TimmBackbone wrapper."""
import sys

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from kd.datasets.transforms import PackClsInputs
from kd.models import (
    CIFAR_ARCHS,
    CifarMobileNetV2,
    CifarResNet,
    CifarShuffleNetV1,
    CifarShuffleNetV2,
    CifarVGG,
    WideResNet,
    cifar_classifier,
)
from kd.recorders import build_recorder
from kd.registry import MODELS

# Parameter counts with a 100-class linear head, equal to those of RepDistiller's
# models/ (HobbitLong/RepDistiller, model_dict[name](num_classes=100)); the rounded
# figures are the ones the distillation papers quote (7.43 M, 1.23 M, ...).
REFERENCE_PARAMS = {
    'resnet8': 83_892,
    'resnet14': 181_108,
    'resnet20': 278_324,          # 0.28 M
    'resnet32': 472_756,
    'resnet44': 667_188,
    'resnet56': 861_620,          # 0.86 M
    'resnet110': 1_736_564,
    'resnet8x4': 1_233_540,       # 1.23 M
    'resnet32x4': 7_433_860,      # 7.43 M
    'wrn_16_1': 180_916,
    'wrn_16_2': 703_284,          # 0.70 M
    'wrn_40_1': 569_780,
    'wrn_40_2': 2_255_156,        # 2.26 M (2.25 M truncated)
    'vgg8': 3_965_028,            # 3.97 M (3.96 M truncated)
    'vgg11': 9_277_284,
    'vgg13': 9_462_180,           # 9.46 M
    'vgg16': 14_774_436,
    'vgg19': 20_086_692,
    'MobileNetV2': 812_836,       # 0.81 M
    'ShuffleV1': 949_258,         # 0.95 M
    'ShuffleV2': 1_355_528,       # 1.36 M
}
PUBLISHED_MILLIONS = {'resnet32x4': 7.43, 'resnet8x4': 1.23, 'wrn_40_2': 2.25, 'wrn_16_2': 0.70,
                      'resnet56': 0.86, 'resnet20': 0.28, 'vgg13': 9.46, 'vgg8': 3.96,
                      'MobileNetV2': 0.81, 'ShuffleV1': 0.95, 'ShuffleV2': 1.36}


def _num_params(module):
    return sum(p.numel() for p in module.parameters())


# (backbone, expected output shapes (C, H, W) for a 32x32 input) -- tiny instances
TINY = [
    (lambda: CifarResNet(depth=8, base_channels=4), [(4, 32, 32), (8, 16, 16), (16, 8, 8)]),
    (lambda: CifarResNet(depth=8, stem_channels=8, base_channels=4),
     [(4, 32, 32), (8, 16, 16), (16, 8, 8)]),
    (lambda: WideResNet(depth=10, widen_factor=2, base_channels=4),
     [(8, 32, 32), (16, 16, 16), (32, 8, 8)]),
    (lambda: CifarVGG(depth=8), [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4),
                                 (512, 4, 4)]),
    (lambda: CifarMobileNetV2(widen_factor=0.25, expand_ratio=2),
     [(6, 16, 16), (8, 8, 8), (24, 4, 4), (80, 2, 2), (1280, 2, 2)]),
    (lambda: CifarShuffleNetV1(groups=3, stage_channels=(48, 96, 192), num_blocks=(1, 1, 1)),
     [(48, 16, 16), (96, 8, 8), (192, 4, 4)]),
    (lambda: CifarShuffleNetV2(stage_channels=(16, 32, 64, 128), num_blocks=(1, 1, 1)),
     [(16, 16, 16), (32, 8, 8), (64, 4, 4), (128, 4, 4)]),
]


@pytest.mark.parametrize('make,shapes', TINY)
def test_tiny_backbone_forward_shapes(make, shapes):
    torch.manual_seed(0)
    model = make()
    outs = model(torch.rand(2, 3, 32, 32))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(2, ) + s for s in shapes]
    assert model.out_channels == tuple(s[0] for s in shapes)
    assert all(torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize('name', sorted(REFERENCE_PARAMS))
def test_parameter_counts_match_the_reference(name):
    model = MODELS.build(cifar_classifier(name, num_classes=100))
    assert _num_params(model) == REFERENCE_PARAMS[name]
    if name in PUBLISHED_MILLIONS:  # the papers' figures, rounded or truncated to 0.01 M
        assert abs(_num_params(model) / 1e6 - PUBLISHED_MILLIONS[name]) < 0.01


def test_zoo_covers_every_family_and_rejects_unknown_names():
    types = {cfg['type'] for cfg in CIFAR_ARCHS.values()}
    assert types == {'CifarResNet', 'WideResNet', 'CifarVGG', 'CifarMobileNetV2',
                     'CifarShuffleNetV1', 'CifarShuffleNetV2'}
    with pytest.raises(KeyError, match='resnet32x4'):
        cifar_classifier('resnet33')


def test_resnet_4x_variants_have_the_wide_stem():
    model = CifarResNet(depth=8, stem_channels=32, base_channels=64)
    assert model.conv1.out_channels == 32 and model.out_channels == (64, 128, 256)
    assert model.layer1[0].downsample is not None   # 32 -> 64 at stride 1
    outs = model(torch.rand(1, 3, 32, 32))
    assert [o.shape[1:] for o in outs] == [(64, 32, 32), (128, 16, 16), (256, 8, 8)]


@pytest.mark.parametrize('depth', [8, 14, 20, 32, 44, 56, 110])
def test_resnet_depths(depth):
    model = CifarResNet(depth=depth, base_channels=2)
    convs = sum(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)
                for m in model.modules())
    assert convs + 1 == depth


def test_wide_resnet_structure_and_errors():
    model = WideResNet(depth=16, widen_factor=2)
    assert len(model.layer1) == len(model.layer3) == 2
    assert model.out_channels == (32, 64, 128)
    # the last output is the final BN-ReLU of layer3 (non-negative); layer3 itself is raw
    x = torch.rand(2, 3, 32, 32)
    raw = {}
    model.layer3.register_forward_hook(lambda m, i, o: raw.setdefault('layer3', o))
    outs = model(x)
    assert (outs[-1] >= 0).all() and (raw['layer3'] < 0).any()
    with pytest.raises(ValueError, match='6n \\+ 4'):
        WideResNet(depth=18)
    with pytest.raises(ValueError, match='out_indices'):
        WideResNet(depth=10, out_indices=(3, ))


def test_out_indices_select_outputs():
    model = CifarVGG(depth=8, out_indices=(1, 4))
    outs = model(torch.rand(1, 3, 32, 32))
    assert [o.shape[1] for o in outs] == [128, 512] and model.out_channels == (128, 512)
    mbv2 = CifarMobileNetV2(widen_factor=0.5, out_indices=(4, ))
    (last, ) = mbv2(torch.rand(1, 3, 32, 32))
    assert last.shape == (1, 1280, 2, 2)
    shv2 = CifarShuffleNetV2(out_indices=(0, 3))
    assert shv2.out_channels == (116, 1024)
    with pytest.raises(ValueError, match='depth'):
        CifarVGG(depth=10)
    with pytest.raises(ValueError, match='widen_factor'):
        CifarShuffleNetV2(widen_factor=0.75)
    with pytest.raises(ValueError, match='groups'):
        CifarShuffleNetV1(groups=5)


def test_shufflenet_v1_first_unit_is_not_grouped():
    model = CifarShuffleNetV1()
    assert model.layer1[0].conv1.groups == 1 and model.layer1[1].conv1.groups == 3
    assert model.layer2[0].conv1.groups == 3


def test_backbones_train_inside_image_classifier():
    torch.manual_seed(0)
    for name in ('wrn_16_1', 'ShuffleV2'):
        model = MODELS.build(cifar_classifier(name, num_classes=5, data_preprocessor=dict(
            type='ClsDataPreprocessor', mean=[127.5] * 3, std=[64.0] * 3)))
        rng = np.random.RandomState(0)
        batch = pseudo_collate([PackClsInputs()(dict(
            img=rng.randint(0, 256, (32, 32, 3), dtype=np.uint8), gt_label=i % 5))
            for i in range(2)])
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
        losses['loss_cls'].backward()
        assert torch.isfinite(losses['loss_cls'])
        assert model.backbone.conv1.weight.grad is not None
        preds = model(**data, mode='predict')
        assert preds[0].pred_score.shape == (5, )


def test_backbone_index_recorder_picks_a_stage():
    model = MODELS.build(cifar_classifier('MobileNetV2', num_classes=10))
    recorder = build_recorder(dict(source='backbone', index=2), model)
    recorder.prepare(model)
    recorder.recording = True
    model(torch.rand(2, 3, 32, 32))
    assert recorder.get().shape == (2, 48, 4, 4)
    recorder.remove()


def test_timm_backbone_without_timm_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, 'timm', None)   # makes `import timm` fail
    with pytest.raises(ImportError, match='pip install timm'):
        MODELS.build(dict(type='TimmBackbone', model_name='resnet18'))


def test_timm_backbone_returns_a_tuple_of_features():
    pytest.importorskip('timm')
    model = MODELS.build(dict(type='TimmBackbone', model_name='resnet18', out_indices=(2, 3, 4)))
    outs = model(torch.rand(1, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 3
    assert tuple(o.shape[1] for o in outs) == model.out_channels == (128, 256, 512)
    clf = MODELS.build(dict(type='ImageClassifier', backbone=dict(
        type='TimmBackbone', model_name='resnet18', out_indices=(4, )),
        head=dict(num_classes=3, in_channels=512)))
    assert clf(torch.rand(2, 3, 64, 64)).shape == (2, 3)
