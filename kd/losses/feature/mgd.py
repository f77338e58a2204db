"""Masked Generative Distillation (Yang et al., ECCV 2022).

Paper:
    Z. Yang, Z. Li, M. Shao, D. Shi, Z. Yuan, C. Yuan. "Masked Generative
    Distillation". ECCV 2022, arXiv:2205.01529.

Formula: the (aligned) student feature ``s`` (N, C, H, W) is multiplied by a
random spatial mask ``M`` (each pixel dropped with probability ``lambda_mgd``)
and a small generation block ``G = conv3x3 -> ReLU -> conv3x3`` must rebuild
the teacher feature ``t`` from it::

    L = loss_weight * alpha_mgd / N * sum_{n, c, h, w} (G(align(s) * M) - t)**2

Reference implementation: ``FeatureLoss`` of yzd-v/MGD (the authors' code):
optional 1x1 ``align`` conv when the channel counts differ, the mask drawn as
``mat = torch.rand(N, 1, H, W)`` on the CPU from torch's global random
generator and turned into ``where(mat > 1 - lambda_mgd, 0, 1)`` (0 = masked),
``nn.MSELoss(reduction='sum') / N`` times ``alpha_mgd``; the convolutions keep
PyTorch's default initialisation as there. ``alpha_mgd = 2e-5`` is the
authors' value for detection necks; their ImageNet classification recipe
(ResNet-34 -> ResNet-18, last stage) uses ``alpha_mgd=7e-5, lambda_mgd=0.15``.

The align and generation convolutions are trainable parameters of this loss;
the distiller holds them with the student's parameters (they are dropped when
the student is exported). A fresh mask is drawn on every call; fix it for
reproducibility with ``torch.manual_seed``.

Arguments:
    student_channels: channels of the student feature (alias ``in_channels``).
    teacher_channels: channels of the teacher feature (alias ``out_channels``).
    alpha_mgd: weight of the summed squared error (the paper's alpha).
    lambda_mgd: probability that a pixel of the student feature is masked.
    loss_weight: factor applied to the loss (on top of ``alpha_mgd``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS


def _resolve(name: str, value: int | None, alias_name: str,
             alias: int | None) -> int | None:
    if value is not None and alias is not None and value != alias:
        raise ValueError(f'MGDLoss: {name}={value} and its alias {alias_name}={alias} '
                         f'disagree; set only one of them.')
    return value if value is not None else alias


@MODELS.register_module()
class MGDLoss(nn.Module):
    """Rebuild the teacher feature from a randomly masked student feature.

    Args:
        student_channels: channels of the student feature.
        teacher_channels: channels of the teacher feature; the generation
            block works on this many channels.
        alpha_mgd: weight of the summed squared error.
        lambda_mgd: masking probability of each spatial location, in [0, 1).
        loss_weight: factor applied to the loss.
        in_channels: alias of ``student_channels`` (the name the distiller
            fills for connectors).
        out_channels: alias of ``teacher_channels``.
    """

    # Channels may differ (own align conv, checked in forward): the distiller skips its
    # same-shape check.
    shape_check = 'none'

    def __init__(self, student_channels: int | None = None,
                 teacher_channels: int | None = None, alpha_mgd: float = 2e-5,
                 lambda_mgd: float = 0.65, loss_weight: float = 1.0,
                 in_channels: int | None = None,
                 out_channels: int | None = None) -> None:
        super().__init__()
        student_channels = _resolve('student_channels', student_channels, 'in_channels',
                                    in_channels)
        teacher_channels = _resolve('teacher_channels', teacher_channels, 'out_channels',
                                    out_channels)
        if student_channels is None or teacher_channels is None:
            raise ValueError(
                f'MGDLoss needs the channel counts of both features to build its '
                f'generation block, got student_channels={student_channels}, '
                f'teacher_channels={teacher_channels}; set them in the loss config, e.g. '
                f"loss=dict(type='MGDLoss', student_channels=256, teacher_channels=256) "
                f'(in_channels/out_channels are accepted as aliases).')
        if not 0 <= lambda_mgd < 1:
            raise ValueError(f'lambda_mgd is a masking probability in [0, 1), got {lambda_mgd}')
        self.student_channels = int(student_channels)
        self.teacher_channels = int(teacher_channels)
        self.alpha_mgd = alpha_mgd
        self.lambda_mgd = lambda_mgd
        self.loss_weight = loss_weight
        t = self.teacher_channels
        self.align = (nn.Conv2d(self.student_channels, t, kernel_size=1)
                      if self.student_channels != t else None)
        self.generation = nn.Sequential(
            nn.Conv2d(t, t, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(t, t, kernel_size=3, padding=1))

    def random_mask(self, n: int, h: int, w: int, device: torch.device,
                    dtype: torch.dtype) -> Tensor:
        """``(n, 1, h, w)`` mask, 0 with probability ``lambda_mgd``, from the global CPU RNG."""
        rand = torch.rand(n, 1, h, w)
        return (rand <= 1 - self.lambda_mgd).to(device=device, dtype=dtype)

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student feature ``(N, student_channels, H, W)``.
            teacher: teacher feature ``(N, teacher_channels, H, W)`` (a constant).
        """
        if student.dim() != 4 or teacher.dim() != 4:
            raise ValueError(f'MGDLoss expects (N, C, H, W) features, got student '
                             f'{tuple(student.shape)} and teacher {tuple(teacher.shape)}')
        if student.shape[1] != self.student_channels or \
                teacher.shape[1] != self.teacher_channels:
            raise ValueError(
                f'MGDLoss was built for student_channels={self.student_channels}, '
                f'teacher_channels={self.teacher_channels} but got student '
                f'{tuple(student.shape)} and teacher {tuple(teacher.shape)}; set the '
                f'channel arguments to the features (dim 1) that reach the loss.')
        if student.shape[0] != teacher.shape[0] or student.shape[2:] != teacher.shape[2:]:
            raise ValueError(f'MGDLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must have the same batch size and '
                             f'spatial size; add a ResizeConnector to match H, W.')
        if self.align is not None:
            student = self.align(student)
        n, _, h, w = teacher.shape
        mask = self.random_mask(n, h, w, student.device, student.dtype)
        rebuilt = self.generation(student * mask)
        loss = F.mse_loss(rebuilt, teacher.detach(), reduction='sum') / n
        return self.loss_weight * self.alpha_mgd * loss

    def extra_repr(self) -> str:
        return (f'student_channels={self.student_channels}, '
                f'teacher_channels={self.teacher_channels}, alpha_mgd={self.alpha_mgd}, '
                f'lambda_mgd={self.lambda_mgd}, loss_weight={self.loss_weight}')
