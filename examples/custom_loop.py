"""Knowledge distillation in a hand-written PyTorch training loop with ``kd.apis``.

    python examples/custom_loop.py [--steps 150] [--out result.json]

No config file and no MMEngine Runner: a teacher CNN is trained on the 8x8
digit scans that ship with scikit-learn (kd's embedded data, split with
``kd.datasets.digits_data.split_source_digits``), then a smaller student learns
from it with ``kd.apis.Distiller``: KD on the logits and FitNets (feature MSE
through a 1x1 ``ConvConnector``) on the last convolution. A student trained
the same way without the teacher is printed beside it (this short run shows
the mechanics; it is not a benchmark: with so few steps the two students are
within noise of each other). Runs in a few seconds on an idle CPU.
``examples/custom_loop_ddp.py`` is the same loop under DistributedDataParallel
(``torchrun --nproc_per_node 2``). See ``docs/plain_pytorch.md``.
"""
from __future__ import annotations

import argparse
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

from kd.apis import Distiller
from kd.datasets.digits_data import load_source_digits, split_source_digits

# one distill entry per distilled pair, exactly as in a recipe's `distill=dict(...)`
DISTILL = dict(
    hint=dict(student='4', teacher='4',                       # the last convolution
              connector=dict(type='ConvConnector'),           # channels from the probe
              loss=dict(type='FeatureMSELoss', loss_weight=0.05)),
    logits=dict(student='8', teacher='8',                     # the classifier
                loss=dict(type='KDLoss', tau=2.0, loss_weight=0.5)))


def make_net(width: int) -> nn.Sequential:
    """A small CNN for 1x8x8 digits; layer '4' is its last convolution, '8' the logits."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 10))


def digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, 8, 8) in [0, 1] and labels (N,) of kd's fixed train/val split."""
    images, labels = load_source_digits()
    index = split_source_digits()[split]
    return (torch.from_numpy(images[index].copy()).unsqueeze(1),
            torch.from_numpy(labels[index].copy()))


def batches(x: torch.Tensor, y: torch.Tensor, size: int, steps: int, seed: int):
    """``steps`` random mini-batches (a fixed sequence for a given seed)."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(x), (size,), generator=g)
        yield x[idx], y[idx]


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    was_training = model.training
    model.eval()
    acc = (model(x).argmax(1) == y).float().mean().item()
    model.train(was_training)
    return acc


def train_plain(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int,
                seed: int) -> nn.Module:
    """Cross-entropy only (the teacher, and the student baseline)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for xb, yb in batches(x, y, 64, steps, seed):
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def train_distilled(student: nn.Module, teacher: nn.Module, x: torch.Tensor,
                    y: torch.Tensor, steps: int, seed: int) -> tuple[Distiller, dict]:
    """The plain loop with kd: record both models, add the distillation losses."""
    distiller = Distiller(student, teacher, DISTILL, example_inputs=x[:2])
    optimizer = torch.optim.Adam([*student.parameters(), *distiller.parameters()], lr=3e-3)
    last: dict = {}
    for step, (xb, yb) in enumerate(batches(x, y, 64, steps, seed)):
        distiller.set_progress(iteration=step, max_iters=steps)
        with distiller.record():         # the teacher runs on xb first (eval, no grad)
            logits = student(xb)
        losses = distiller.losses()      # {'distill.hint': ..., 'distill.logits': ...}
        loss = F.cross_entropy(logits, yb) + sum(losses.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        last = {k: v.item() for k, v in losses.items()}
    return distiller, last


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=150, help='training steps per model')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the results here as JSON')
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    x, y = digits('train')
    x_val, y_val = digits('val')

    teacher = train_plain(make_net(16), x, y, args.steps, args.seed)
    frozen = {k: v.clone() for k, v in teacher.state_dict().items()}

    torch.manual_seed(args.seed + 1)
    baseline = train_plain(make_net(4), x, y, args.steps, args.seed + 1)
    torch.manual_seed(args.seed + 1)   # the same initial student as the baseline
    student = make_net(4)
    distiller, losses = train_distilled(student, teacher, x, y, args.steps, args.seed + 1)
    distiller.remove()                 # detach the recorders from both models

    result = dict(
        teacher=accuracy(teacher, x_val, y_val),
        student_baseline=accuracy(baseline, x_val, y_val),
        student_distilled=accuracy(student, x_val, y_val),
        last_losses=losses,
        teacher_unchanged=all(torch.equal(frozen[k], v)
                              for k, v in teacher.state_dict().items()),
        distiller_parameters=sum(p.numel() for p in distiller.parameters()))
    print(f"val accuracy: teacher {result['teacher']:.3f}, student alone "
          f"{result['student_baseline']:.3f}, distilled student "
          f"{result['student_distilled']:.3f}; last distillation losses "
          + ', '.join(f'{k} {v:.4f}' for k, v in losses.items()))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
