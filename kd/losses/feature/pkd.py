"""PKD: feature imitation with Pearson correlation (Cao et al., NeurIPS 2022).

Paper:
    W. Cao, Y. Zhang, J. Gao, A. Cheng, K. Cheng, J. Cheng. "PKD: General
    Distillation Framework for Object Detectors via Pearson Correlation
    Coefficient". NeurIPS 2022, arXiv:2207.02039.

Formula: each channel ``c`` is standardised with its mean and (unbiased)
standard deviation over the batch and the spatial positions,
``z(f)[n, c, h, w] = (f[n, c, h, w] - mean_c) / (std_c + 1e-6)``; then::

    L = loss_weight * sum_levels 1 / (2 * N * C * H * W) * sum (z(s) - z(t))**2

which is the mean over channels of ``(1 - r_c) * (M - 1) / M`` for the
Pearson correlation ``r_c`` of channel ``c`` of the two features over its
``M = N*H*W`` values (up to the ``1e-6``), so the student copies the
teacher's relative activations, not their magnitude.

Reference implementation: ``PKDLoss`` of MMRazor (the authors' release):
``norm`` flattens ``feat.permute(1, 0, 2, 3)`` to ``(C, N*H*W)``, so the
statistics are per channel over batch *and* space (not per sample), with
``torch.std`` (unbiased) and ``+ 1e-6`` on the std; ``F.mse_loss(...) / 2``
per level, levels summed. When the spatial sizes differ, one side is resized
with bilinear interpolation (``align_corners=False``), up or down as needed:
the student to the teacher's size if ``resize_stu``, else the teacher to the
student's. MMRazor compares only ``H`` to decide; here ``(H, W)`` is
compared. The channel counts must match (add a ConvConnector).

Arguments:
    loss_weight: factor applied to the loss.
    resize_stu: resize the student to the teacher's spatial size (``True``)
        or the teacher to the student's (``False``) when they differ.
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

Features = Union[Tensor, Sequence[Tensor]]


def standardize_channels(feature: Tensor, eps: float = 1e-6) -> Tensor:
    """Zero mean, unit (unbiased) std per channel over batch and spatial dims."""
    dims = [0, *range(2, feature.dim())]
    mean = feature.mean(dim=dims, keepdim=True)
    std = feature.std(dim=dims, keepdim=True)
    return (feature - mean) / (std + eps)


@MODELS.register_module()
class PKDLoss(nn.Module):
    """Half the MSE between per-channel standardised features, summed over levels.

    Args:
        loss_weight: factor applied to the loss.
        resize_stu: which side is resized when the spatial sizes differ.
    """

    # Spatial sizes may differ (resized, checked in forward): the distiller skips its
    # same-shape check.
    shape_check = 'none'

    def __init__(self, loss_weight: float = 1.0, resize_stu: bool = True) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.resize_stu = resize_stu

    def _pair_loss(self, student: Tensor, teacher: Tensor) -> Tensor:
        if student.dim() != 4 or teacher.dim() != 4:
            raise ValueError(f'PKDLoss expects (N, C, H, W) features, got student '
                             f'{tuple(student.shape)} and teacher {tuple(teacher.shape)}')
        if student.shape[:2] != teacher.shape[:2]:
            raise ValueError(f'PKDLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must have the same batch size and '
                             f'channels; add a connector (e.g. ConvConnector) to map the '
                             f'student channels.')
        dtype = torch.promote_types(student.dtype, torch.float32)  # fp16 -> fp32
        student, teacher = student.to(dtype), teacher.to(dtype)
        if student.shape[2:] != teacher.shape[2:]:
            if self.resize_stu:
                student = F.interpolate(student, size=teacher.shape[2:], mode='bilinear',
                                        align_corners=False)
            else:
                teacher = F.interpolate(teacher, size=student.shape[2:], mode='bilinear',
                                        align_corners=False)
        n, _, h, w = student.shape
        if n * h * w < 2:
            raise ValueError(f'PKDLoss needs at least 2 values per channel (N*H*W >= 2) '
                             f'for the standard deviation, got {tuple(student.shape)}')
        return F.mse_loss(standardize_channels(student), standardize_channels(teacher)) / 2

    def forward(self, student: Features, teacher: Features, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: ``(N, C, H, W)`` feature or a tuple/list of them (levels).
            teacher: teacher feature(s) matching ``student`` (treated as constants).
        """
        if isinstance(student, Tensor) != isinstance(teacher, Tensor):
            raise ValueError(f'PKDLoss: student and teacher must both be tensors or both '
                             f'sequences of tensors, got {type(student).__name__} and '
                             f'{type(teacher).__name__}')
        if isinstance(student, Tensor):
            student, teacher = (student,), (teacher,)
        if len(student) != len(teacher) or len(student) == 0:
            raise ValueError(f'PKDLoss: got {len(student)} student and {len(teacher)} '
                             f'teacher levels; they must be equal and non-zero')
        loss = sum(self._pair_loss(s, t.detach()) for s, t in zip(student, teacher))
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, resize_stu={self.resize_stu}'
