"""Data preprocessor of the ``kd`` classifiers."""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from kd.registry import MODELS


@MODELS.register_module()
class ClsDataPreprocessor(BaseDataPreprocessor):
    """Stack uint8 ``(C, H, W)`` images into a float batch and normalise it.

    ``inputs = (stack(images)[:, channel_order].float() - mean) / std``.  The
    data samples pass through unchanged (moved to the model's device).

    ``mean`` and ``std`` are kept as non-persistent buffers of shape
    ``(C, 1, 1)``, as in MMEngine's ``ImgDataPreprocessor``, so a distiller can
    convert a batch normalised for the student into the teacher's normalisation.

    Args:
        mean: per-channel mean in the 0-255 scale, or None for no normalisation.
        std: per-channel standard deviation in the 0-255 scale (with ``mean``).
        bgr_to_rgb: reverse the channel order of 3-channel images (before the
            mean and std, which are given in the output order).
        non_blocking: copy to the device asynchronously.
    """

    def __init__(self,
                 mean: Sequence[float] | None = None,
                 std: Sequence[float] | None = None,
                 bgr_to_rgb: bool = False,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if (mean is None) != (std is None):
            raise ValueError('give both mean and std, or neither')
        self._enable_normalize = mean is not None
        if self._enable_normalize:
            if len(mean) != len(std):
                raise ValueError(f'mean has {len(mean)} values but std has {len(std)}')
            if any(s <= 0 for s in std):
                raise ValueError(f'std must be positive, got {tuple(std)}')
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
                                 persistent=False)
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
                                 persistent=False)
        self.bgr_to_rgb = bgr_to_rgb

    def forward(self, data: dict, training: bool = False) -> dict:
        """Return ``dict(inputs=float (N, C, H, W) tensor, data_samples=...)``.

        Args:
            data: a collated batch with ``inputs`` (a list of ``(C, H, W)``
                tensors, or an already stacked ``(N, C, H, W)`` tensor) and
                optionally ``data_samples``.
            training: unused; kept for the MMEngine interface.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(img.shape) for img in inputs}
            if len(shapes) > 1:
                raise ValueError(f'cannot stack images of different shapes {sorted(shapes)}; '
                                 'resize or crop them to one size in the pipeline')
            inputs = torch.stack(list(inputs))
        if inputs.dim() != 4:
            raise ValueError(f'expected images of shape (N, C, H, W), got {tuple(inputs.shape)}')
        if self.bgr_to_rgb and inputs.shape[1] == 3:
            inputs = inputs.flip(1)
        inputs = inputs.float()
        if self._enable_normalize:
            if self.mean.shape[0] not in (1, inputs.shape[1]):
                raise ValueError(f'mean/std have {self.mean.shape[0]} channels but the '
                                 f'images have {inputs.shape[1]}')
            inputs = (inputs - self.mean) / self.std
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
