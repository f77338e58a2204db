"""Parameters and FLOPs of a model, as ``get_flops.py`` and the result tables report them."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from torch import nn


def params_and_flops(model: nn.Module, shape: Sequence[int]) -> tuple[int, int]:
    """Parameter count and FLOPs of ``model`` on one zero input of ``shape`` (C, H, W).

    FLOPs are counted by ``mmengine.analysis`` (one multiply-add = one FLOP);
    operators it does not count (BatchNorm, pooling, interpolation) are left
    out, as in MMDetection's tool. The model is put in eval mode; MMEngine's
    per-operator warnings are silenced while counting.
    """
    import torch
    from mmengine.analysis import get_model_complexity_info
    from mmengine.logging import MMLogger
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('ERROR')
    try:
        with torch.no_grad():
            info = get_model_complexity_info(model, inputs=(torch.zeros(1, *shape), ),
                                             show_table=False, show_arch=False)
    finally:
        logger.setLevel(level)
    return params, info['flops']
