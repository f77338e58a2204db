"""Input adaptation: the student's preprocessed batch as the teacher was trained on it."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


def _norm(pre: nn.Module | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if pre is None or not getattr(pre, '_enable_normalize', True):
        return None, None
    mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
    if not isinstance(mean, torch.Tensor) or not isinstance(std, torch.Tensor):
        return None, None
    # float: a preprocessor configured with integer means (DarkNet's mean=[0, 0, 0])
    # holds int64 buffers, which allclose cannot compare
    return mean.detach().clone().float(), std.detach().clone().float()


class TeacherInputs:
    """Turn the student's normalised batch into the teacher's.

    Args:
        student_preprocessor: the distiller's (the student's) data preprocessor.
        teacher_preprocessor: the teacher's own; when its mean, std or channel
            order (BGR/RGB) differ, the batch is un-normalised and re-normalised.
        size: ``(H, W)`` the teacher was trained at (``teacher=dict(input_size=...)``):
            the batch is resized bilinearly; records come at the teacher's
            resolution (a ``ResizeConnector`` maps them to the student's grid).
    """

    def __init__(self, student_preprocessor: nn.Module | None,
                 teacher_preprocessor: nn.Module | None,
                 size: Sequence[int] | None = None) -> None:
        self.s_mean, self.s_std = _norm(student_preprocessor)
        self.t_mean, self.t_std = _norm(teacher_preprocessor)
        flips = [bool(getattr(p, '_channel_conversion', False))
                 for p in (student_preprocessor, teacher_preprocessor)]
        self.flip = flips[0] != flips[1]
        same_norm = ((self.s_mean is None and self.t_mean is None)
                     or (self.s_mean is not None and self.t_mean is not None
                         and self.s_mean.shape == self.t_mean.shape
                         and torch.allclose(self.s_mean, self.t_mean)
                         and torch.allclose(self.s_std, self.t_std)))
        self.renormalises = not same_norm or self.flip
        if size is not None and (len(size) != 2 or any(int(s) <= 0 for s in size)):
            raise ValueError(f'teacher input_size must be (H, W) with positive sizes, got '
                             f'{size!r}')
        self.size = tuple(int(s) for s in size) if size is not None else None

    @property
    def converts(self) -> bool:
        """Whether the teacher's batch differs from the student's at all."""
        return self.renormalises or self.size is not None

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.converts or not isinstance(inputs, torch.Tensor):
            return inputs
        x = inputs
        if self.renormalises:
            if self.s_mean is not None:
                x = x * self.s_std.to(x) + self.s_mean.to(x)
            if self.flip:
                x = x.flip(1)
            if self.t_mean is not None:
                x = (x - self.t_mean.to(x)) / self.t_std.to(x)
        if self.size is not None and tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode='bilinear', align_corners=False)
        return x
