"""tools/model_converters/rtdetr_to_kd.py: official ``rtdetr_pytorch`` weights -> kd's RT-DETR.

The official layout is built in the test (tests/test_models/rtdetr_reference.py: the
official module tree, its key names and shapes, and its inference forward) with random
weights and BN statistics; nothing is downloaded. The converted weights must load
strictly and give the same class logits and boxes (<= 1e-4) on the same input.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

pytest.importorskip('mmdet')
from mmdet.registry import MODELS  # noqa: E402
from mmdet.structures import DetDataSample  # noqa: E402
from mmdet.utils import register_all_modules  # noqa: E402

import kd.models.rtdetr  # noqa: E402,F401
from kd.apis import load_config  # noqa: E402
from kd.models.rtdetr.official_ckpt import convert_official_rtdetr  # noqa: E402
from tests.test_models.rtdetr_reference import official_rtdetr, randomize_  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {18: 'configs/rtdetr/rtdetr_r18vd_8xb2-72e_coco.py',
           50: 'configs/rtdetr/rtdetr_r50vd_8xb2-72e_coco.py'}
# smaller transformer widths than COCO's (the backbone widths are fixed) to keep it fast
SMALL = dict(num_classes=10, hidden_dim=64, num_queries=20, num_decoder_layers=2,
             dim_feedforward=128)


def _small_overrides(depth: int) -> dict:
    d, ffn, layers = SMALL['hidden_dim'], SMALL['dim_feedforward'], SMALL['num_decoder_layers']
    return dict(
        num_queries=SMALL['num_queries'], in_channels=d,
        backbone=dict(init_cfg=None),
        neck=dict(hidden_dim=d, dim_feedforward=ffn),
        decoder=dict(num_layers=layers, layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=d), cross_attn_cfg=dict(embed_dims=d),
            ffn_cfg=dict(embed_dims=d, feedforward_channels=ffn))),
        bbox_head=dict(num_classes=SMALL['num_classes'], embed_dims=d, num_pred_layer=layers))


def _config_file(tmp_path, depth: int) -> str:
    path = tmp_path / f'rtdetr_r{depth}_small.py'
    path.write_text(f"_base_ = ['{ROOT / CONFIGS[depth]}']\nmodel = {_small_overrides(depth)!r}\n")
    return str(path)


def _tool():
    """The converter script as a module (tools/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(
        'rtdetr_to_kd', ROOT / 'tools' / 'model_converters' / 'rtdetr_to_kd.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _official(depth: int):
    expansion = 0.5 if depth < 50 else 1.0
    return randomize_(official_rtdetr(depth, expansion=expansion, **SMALL), seed=depth).eval()


def _kd_model(tmp_path, depth: int):
    register_all_modules()
    return MODELS.build(load_config(_config_file(tmp_path, depth)).model)


@pytest.mark.parametrize('depth', [18, 50])
def test_converted_weights_load_strictly_and_give_the_official_outputs(depth, tmp_path):
    official = _official(depth)
    state = convert_official_rtdetr(official.state_dict())
    model = _kd_model(tmp_path, depth)
    assert sorted(state) == sorted(model.state_dict())
    model.load_state_dict(state, strict=True)
    model.eval()
    x = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))  # 2x3 at stride 32
    samples = [DetDataSample(metainfo=dict(img_shape=(64, 96), batch_input_shape=(64, 96)))
               for _ in range(2)]
    with torch.no_grad():
        expected = official(x)
        head_inputs = model.forward_transformer(model.extract_feat(x), samples)
        logits, boxes = model.bbox_head(head_inputs['hidden_states'], head_inputs['references'])
    assert torch.allclose(logits[-1], expected['pred_logits'], atol=1e-4, rtol=0)
    assert torch.allclose(boxes[-1], expected['pred_boxes'], atol=1e-4, rtol=0)
    # the padding row of the official denoising embedding is dropped
    emb = official.decoder.denoising_class_embed.weight
    assert torch.equal(state['dn_query_generator.label_embedding.weight'], emb[:-1])


def test_tool_converts_an_ema_checkpoint_and_a_backbone(tmp_path):
    main = _tool().main
    official = _official(18)
    src = tmp_path / 'rtdetr_r18vd_official.pth'
    torch.save({'model': {}, 'ema': {'module': official.state_dict(), 'updates': 5}}, src)
    config = _config_file(tmp_path, 18)
    dst = main([str(src), str(tmp_path / 'out' / 'kd.pth'), '--config', config])
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert saved['meta']['converter'] == 'rtdetr_to_kd'
    _kd_model(tmp_path, 18).load_state_dict(saved['state_dict'], strict=True)
    # the official ImageNet backbone weights (PResNet keys) -> RTDETRResNetV1d
    bsrc = tmp_path / 'presnet18vd.pth'
    torch.save(official.backbone.state_dict(), bsrc)
    bdst = main([str(bsrc), str(tmp_path / 'presnet18vd_kd.pth'), '--config', config])
    backbone = torch.load(bdst, map_location='cpu', weights_only=True)['state_dict']
    assert all(k.startswith(('stem.', 'layer')) for k in backbone)
    # a checkpoint of another depth fails the strict check, naming what differs
    with pytest.raises(SystemExit, match='do not match'):
        main([str(src), str(tmp_path / 'bad.pth'), '--config', _config_file(tmp_path, 50)])


def test_unknown_official_keys_are_named():
    with pytest.raises(KeyError, match='decoder.something_new'):
        convert_official_rtdetr({'decoder.something_new.weight': torch.zeros(1)})
