"""tools/analysis_tools/vis_features.py and kd.FeatureVisualizationHook on tiny distillers."""
import importlib.util
import logging
import os.path as osp
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from kd.apis import build_runner, load_config
from tests.test_configs.test_quickstart import _tiny_det_overrides
from tests.test_configs.test_recipes import _with_random_teacher

pytest.importorskip('mmdet')

ROOT = Path(__file__).resolve().parents[2]
CWD = 'configs/cwd/cwd_retinanet_digits.py'
FGD = 'configs/fgd/fgd_retinanet_digits.py'


def _tool():
    spec = importlib.util.spec_from_file_location(
        'vis_features', ROOT / 'tools' / 'analysis_tools' / 'vis_features.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _det_args(root):
    return [osp.join(root, 'val', '000000.png'), '--ann-file',
            osp.join(root, 'annotations', 'val.json')]


def test_tool_writes_one_png_per_fpn_level(tiny_digits_det, tmp_path):
    out = tmp_path / 'vis'
    written = _tool().main([_with_random_teacher(tmp_path, CWD)] + _det_args(tiny_digits_det)
                           + ['--out-dir', str(out)])
    assert [osp.basename(p) for p, _ in written] == \
        ['fpn.level0.png', 'fpn.level1.png', 'fpn.level2.png']
    for path, pair in written:
        image = np.asarray(Image.open(path))
        assert image.ndim == 3 and image.shape[2] in (3, 4) and image.shape[1] > image.shape[0]
        # the ConvConnector maps the student's 32 FPN channels to the teacher's 64
        assert pair.teacher.shape == pair.student.shape and pair.teacher.shape[0] == 64
        assert pair.mask is None and pair.connector


def test_collected_features_are_what_the_loss_compares(tiny_digits_det, tmp_path):
    """Teacher records equal the teacher's FPN outputs, the student's pass the connector."""
    tool = _tool()
    cfg = load_config(_with_random_teacher(tmp_path, CWD))
    model, source = tool.build_distiller(cfg)
    assert 'randomly initialised' in source
    inputs, samples, how = tool.load_batch(cfg, model, _det_args(tiny_digits_det)[0], boxes=None,
                                           ann_file=_det_args(tiny_digits_det)[2])
    assert 'test pipeline' in how and inputs.shape == (1, 3, 96, 96)
    model.train()
    bn = {k: v.clone() for k, v in model.state_dict().items()}
    from kd.visualization.feature_maps import collect_features
    pairs = collect_features(model, inputs, samples)
    assert model.training and model.student.training and not model.teacher.training
    assert all(torch.equal(bn[k], v) for k, v in model.state_dict().items())  # BN untouched
    model.eval()
    with torch.no_grad():
        t_feats = model.teacher.extract_feat(model.teacher_side.inputs(inputs))
        s_feats = model.student.extract_feat(inputs)
        for i, pair in enumerate(pairs):
            assert torch.allclose(pair.teacher, t_feats[i][0], atol=1e-6)
            expected = model.entries['fpn'].connectors[i](s_feats[i], t_feats[i])[0]
            assert torch.allclose(pair.student, expected, atol=1e-6)


def test_tool_with_a_distiller_checkpoint(tiny_digits_det, tmp_path):
    tool = _tool()
    recipe = _with_random_teacher(tmp_path, CWD)
    model, _ = tool.build_distiller(load_config(recipe))
    with torch.no_grad():
        for p in model.entries['fpn'].connectors.parameters():
            p.fill_(0.5)
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'iter_1.pth')
    written = tool.main([recipe, str(tmp_path / 'iter_1.pth')] + _det_args(tiny_digits_det)
                        + ['--out-dir', str(tmp_path / 'vis')])
    assert len(written) == 3
    # the connectors are the checkpoint's, not freshly initialised ones
    cfg = load_config(recipe)
    model, source = tool.build_distiller(cfg, str(tmp_path / 'iter_1.pth'))
    assert 'distiller checkpoint' in source and 'missing' not in source
    assert all(torch.all(p == 0.5) for p in model.entries['fpn'].connectors.parameters())


@pytest.mark.skipif(not (ROOT / FGD).is_file(), reason='no FGD recipe')
def test_tool_draws_the_fgd_foreground_mask(tiny_digits_det, tmp_path):
    import kd.losses
    if not hasattr(kd.losses, 'FGDLoss'):
        pytest.skip('FGDLoss not available')
    written = _tool().main([_with_random_teacher(tmp_path, FGD)] + _det_args(tiny_digits_det)
                           + ['--out-dir', str(tmp_path / 'vis')])
    assert len(written) == 3
    for _, pair in written:
        assert pair.mask is not None and pair.mask.shape == pair.teacher.shape[-2:]
        assert pair.mask.sum() > 0 and pair.loss_type == 'FGDLoss'


def test_tool_on_a_classification_recipe(tmp_path):
    image = tmp_path / 'digit.png'
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 28, 3), dtype=np.uint8)).save(image)
    recipe = _with_random_teacher(tmp_path, 'configs/kd/kd_resnet_digits_cls.py')
    written = _tool().main([recipe, str(image), '--out-dir', str(tmp_path / 'vis')])
    assert [osp.basename(p) for p, _ in written] == ['logits.png']
    pair = written[0][1]
    assert pair.teacher.shape == pair.student.shape == (10, ) and not pair.connector


# ---------------------------------------------------------------- the hook
def _det_runner(root, tmp_path, hook):
    opts = [o for o in _tiny_det_overrides(root, tmp_path / 'work', iters=2)
            if not o.startswith('model.')]
    cfg = load_config(_with_random_teacher(tmp_path, CWD), opts)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [hook]
    return build_runner(cfg)


def test_hook_sends_feature_images_to_the_visualizer(tiny_digits_det, tmp_path, monkeypatch):
    runner = _det_runner(tiny_digits_det, tmp_path,
                         dict(type='kd.FeatureVisualizationHook', interval=1))
    calls = []
    monkeypatch.setattr(runner.visualizer, 'add_image',
                        lambda name, image, step=0: calls.append((name, image, step)))
    runner.train()
    names = ['features.fpn.level0', 'features.fpn.level1', 'features.fpn.level2']
    assert [(n, s) for n, _, s in calls] == [(n, s) for s in (1, 2) for n in names]
    for _, image, _ in calls:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3

    # a direct call changes nothing in the model (eval mode, no grad, mode restored)
    from kd.hooks import FeatureVisualizationHook
    hook = FeatureVisualizationHook(interval=1)
    model = runner.model
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    from mmengine.dataset import pseudo_collate
    dataset = runner.train_dataloader.dataset
    batch = pseudo_collate([dataset[0], dataset[1]])
    hook.after_train_iter(runner, 0, batch)
    assert len(calls) == 9 and model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_hook_interval_and_non_distiller(caplog):
    from kd.hooks import FeatureVisualizationHook
    calls = []
    runner = SimpleNamespace(model=torch.nn.Linear(2, 2), iter=0,
                             visualizer=SimpleNamespace(add_image=lambda *a, **k: calls.append(a)),
                             logger=logging.getLogger('test_feature_vis'))
    hook = FeatureVisualizationHook(interval=2)
    hook.after_train_iter(runner, 0, dict(inputs=[torch.zeros(3, 8, 8)]))  # iteration 1: skip
    runner.iter = 1
    with caplog.at_level(logging.WARNING, logger='test_feature_vis'):
        hook.after_train_iter(runner, 1, dict(inputs=[torch.zeros(3, 8, 8)]))
        hook.after_train_iter(runner, 1, dict(inputs=[torch.zeros(3, 8, 8)]))
    assert not calls
    assert sum('not a kd distiller' in r.message for r in caplog.records) == 1
