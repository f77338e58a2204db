"""How much of a model runs: the minimal forward that produces every record."""
from __future__ import annotations

from typing import Any, Sequence

import torch.nn as nn

from kd.recorders import RecorderManager

FORWARD_MODES = ('auto', 'backbone', 'extract_feat', 'tensor', 'loss')
# plus 'head:<name>' (extract_feat, then the named head module), chosen by 'auto',
# and 'none' (no record on this model: nothing runs)


def check_forward_mode(mode: str, label: str = 'teacher') -> str:
    """``mode`` if it is a forward mode, else a ``ValueError`` listing them."""
    if mode not in FORWARD_MODES and not str(mode).startswith('head:'):
        raise ValueError(f'{label} forward={mode!r} is not one of {FORWARD_MODES} '
                         "(or 'head:<module name>')")
    return mode


def choose_forward_mode(model: nn.Module, recorders: RecorderManager) -> str:
    """The least forward of ``model`` that fires every recorder of ``recorders``.

    ``backbone`` (records only in the backbone), ``extract_feat`` (backbone /
    neck), ``head:<name>`` (one head module called on ``extract_feat``; mmdet's
    tensor mode calls ``head.forward`` directly, which bypasses forward hooks),
    ``tensor`` otherwise and for DETR-family models (their heads take the
    decoder's outputs), ``none`` without any record.
    """
    names = recorders.module_names()
    children = dict(model.named_children())
    if not names:
        return 'none'
    if names <= {'backbone'} and 'backbone' in children:
        return 'backbone'
    if names <= {'backbone', 'neck', 'extract_feat'} and hasattr(model, 'extract_feat'):
        return 'extract_feat'
    heads = names - {'backbone', 'neck', 'extract_feat'}
    if hasattr(model, 'forward_transformer'):
        return 'tensor'
    if len(heads) == 1 and hasattr(model, 'extract_feat'):
        head = next(iter(heads))
        if isinstance(children.get(head), nn.Module) and head not in ('roi_head', ):
            return f'head:{head}'
    return 'tensor'


def run_forward(model: nn.Module, mode: str, inputs: Any, data_samples: Any,
                side: str) -> Any:
    """Run ``model`` in forward ``mode`` (see :func:`choose_forward_mode`)."""
    if mode == 'none':
        return None
    if mode == 'backbone':
        return model.backbone(inputs)
    if mode == 'extract_feat':
        return model.extract_feat(inputs)
    if mode.startswith('head:'):
        return getattr(model, mode[len('head:'):])(model.extract_feat(inputs))
    if mode in ('tensor', 'loss'):
        return model(inputs, data_samples, mode=mode)
    raise ValueError(f'unknown {side} forward mode {mode!r}')


def probe_data_samples(models: Sequence[nn.Module], inputs: Any) -> list | None:
    """Minimal image metas for a probe batch when a model's tensor forward needs them.

    MMDetection's DETR-family detectors build their attention masks from
    ``batch_input_shape`` and ``img_shape`` even in tensor mode; other models get
    ``None``.
    """
    if not any(hasattr(m, 'forward_transformer') for m in models):
        return None
    from mmdet.structures import DetDataSample
    h, w = (int(s) for s in inputs.shape[-2:])
    meta = dict(batch_input_shape=(h, w), img_shape=(h, w), pad_shape=(h, w),
                ori_shape=(h, w), scale_factor=(1.0, 1.0))
    return [DetDataSample(metainfo=meta) for _ in range(inputs.shape[0])]
