"""tools/model_converters/repdistiller_to_kd.py on state dicts written in RepDistiller's layout."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kd.models.repdistiller_ckpt import arch_from_path, convert_repdistiller_state_dict
from kd.registry import MODELS
from kd.utils import register_all_modules

ROOT = Path(__file__).resolve().parents[2]


def _kd_model(arch_cfg):
    register_all_modules()
    from kd.models.backbones.zoo import cifar_classifier
    return MODELS.build(cifar_classifier(arch_cfg, 100))


def _config(arch) -> str:
    from kd.models.backbones.zoo import cifar_classifier
    return f"default_scope = 'kd'\nmodel = {cifar_classifier(arch, 100)!r}\n"


def _to_repdistiller(key: str, family: str) -> str:
    """RepDistiller's names (models/resnet.py, wrn.py, vgg.py), written out by hand."""
    if key.startswith('head.fc.'):
        return ('classifier.' if family == 'vgg' else 'fc.') + key[len('head.fc.'):]
    key = key[len('backbone.'):]
    if family == 'wrn':
        if key.startswith('norm_out.'):
            return 'bn1.' + key[len('norm_out.'):]
        m = re.match(r'layer(\d)\.(\d+)\.(.*)$', key)
        if m:
            rest = m.group(3).replace('shortcut', 'convShortcut')
            return f'block{m.group(1)}.layer.{m.group(2)}.{rest}'
    if family == 'vgg':
        m = re.match(r'layer(\d)\.(.*)$', key)
        return f'block{int(m.group(1)) - 1}.{m.group(2)}'
    return key


@pytest.mark.parametrize('arch,family,literal', [
    ('resnet8x4', 'resnet',
     ('layer1.0.downsample.0.weight', 'backbone.layer1.0.downsample.0.weight')),
    ('wrn_16_2', 'wrn',
     ('block1.layer.0.convShortcut.weight', 'backbone.layer1.0.shortcut.weight')),
    ('vgg8', 'vgg', ('block0.1.running_mean', 'backbone.layer1.1.running_mean')),
])
def test_converts_a_repdistiller_checkpoint(tmp_path, arch, family, literal):
    model = _kd_model(arch)
    g = torch.Generator().manual_seed(0)
    original = {k: (torch.randn(v.shape, generator=g) if v.is_floating_point() else v.clone())
                for k, v in model.state_dict().items()}
    rep = {'module.' + _to_repdistiller(k, family): v for k, v in original.items()}
    assert literal[0] in {k[len('module.'):] for k in rep}
    src = tmp_path / f'{arch}_vanilla' / 'ckpt_epoch_240.pth'
    src.parent.mkdir()
    torch.save({'epoch': 240, 'model': rep, 'accuracy': torch.tensor(79.4)}, src)
    assert arch_from_path(str(src)) == arch
    dst = tmp_path / 'kd.pth'
    cfg = tmp_path / 'model.py'
    cfg.write_text(_config(arch))
    res = subprocess.run([sys.executable, 'tools/model_converters/repdistiller_to_kd.py', str(src),
                          str(dst), '--config', str(cfg)], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['repdistiller_arch'] == arch and saved['meta']['epoch'] == 240
    assert literal[1] in saved['state_dict']
    fresh = _kd_model(arch)
    fresh.load_state_dict(saved['state_dict'], strict=True)
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, original[k]), k


def test_wrong_architecture_and_unsupported_families(tmp_path):
    model = _kd_model('resnet8')
    rep = {k.replace('backbone.', '').replace('head.', ''): v
           for k, v in model.state_dict().items()}
    src = tmp_path / 'resnet8_vanilla' / 'ckpt_epoch_240.pth'
    src.parent.mkdir()
    torch.save({'model': rep}, src)
    cfg = tmp_path / 'model.py'
    cfg.write_text(_config('resnet20'))
    res = subprocess.run([sys.executable, 'tools/model_converters/repdistiller_to_kd.py', str(src),
                          str(tmp_path / 'out.pth'), '--config', str(cfg)], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode != 0 and 'does not match' in res.stderr + res.stdout
    with pytest.raises(ValueError, match='ShuffleNet'):
        convert_repdistiller_state_dict({'model': rep}, 'ShuffleV2')
