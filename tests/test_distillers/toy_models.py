"""Tiny models for distiller tests (no mmdet needed)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel, ImgDataPreprocessor

from kd.registry import MODELS


class _Backbone(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.layer1 = nn.Conv2d(3, width, 3, stride=2, padding=1)
        self.layer2 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)

    def forward(self, x):
        a = F.relu(self.layer1(x))
        b = F.relu(self.layer2(a))
        return (a, b)


class _Neck(nn.Module):
    def __init__(self, width, out):
        super().__init__()
        self.lateral = nn.ModuleList([nn.Conv2d(width, out, 1), nn.Conv2d(2 * width, out, 1)])

    def forward(self, feats):
        return tuple(conv(f) for conv, f in zip(self.lateral, feats))


class _Head(nn.Module):
    def __init__(self, out, num_classes):
        super().__init__()
        self.fc = nn.Linear(out, num_classes)
        self.calls = 0

    def forward(self, feats):
        self.calls += 1
        return self.fc(feats[-1].mean((2, 3)))


@MODELS.register_module(force=True)
class ToyClassifier(BaseModel):
    """backbone (2 levels) -> neck (2 levels) -> head (logits); mode tensor/loss/predict."""

    def __init__(self, width=4, out=8, num_classes=3, mean=(0., 0., 0.), std=(1., 1., 1.),
                 bgr_to_rgb=False):
        super().__init__(data_preprocessor=ImgDataPreprocessor(
            mean=list(mean), std=list(std), bgr_to_rgb=bgr_to_rgb))
        self.backbone = _Backbone(width)
        self.neck = _Neck(width, out)
        self.head = _Head(out, num_classes)
        self.neck_inputs_seen = []

    def extract_feat(self, x):
        return self.neck(self.backbone(x))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self.head(self.extract_feat(inputs))
        if mode == 'loss':
            labels = torch.stack([d['label'] for d in data_samples])
            return {'loss_cls': F.cross_entropy(logits, labels),
                    'acc': (logits.argmax(1) == labels).float().mean()}
        if mode == 'predict':
            return [dict(pred=p) for p in logits.argmax(1)]
        return logits


def toy_cfg(**kwargs):
    return dict(type='kd.ToyClassifier', **kwargs)


def toy_batch(n=4, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, 3, size, size, generator=g)
    samples = [dict(label=torch.tensor(i % 3)) for i in range(n)]
    return inputs, samples


def write_toy_teacher(tmp_path, width=8, out=8, seed=1):
    """A toy teacher config file and a matching checkpoint: ``(config, checkpoint, model)``."""
    cfg = tmp_path / 'teacher.py'
    cfg.write_text("default_scope = 'kd'\n"
                   f"model = dict(type='kd.ToyClassifier', width={width}, out={out})\n")
    torch.manual_seed(seed)
    teacher = MODELS.build(dict(type='kd.ToyClassifier', width=width, out=out))
    ckpt = tmp_path / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, ckpt)
    return str(cfg), str(ckpt), teacher
