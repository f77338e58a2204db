"""Small helpers shared by the distillation losses."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor

_LABEL_KEYS = ('gt_label', 'label')


def _label_of(sample: Any, index: int) -> Any:
    """The class label stored in one data sample (a data element or a dict)."""
    if isinstance(sample, dict):
        for key in _LABEL_KEYS:
            if key in sample:
                return sample[key]
        raise KeyError(f'data sample {index} (a dict with keys {sorted(sample)}) has no '
                       f'"gt_label" or "label"')
    for key in _LABEL_KEYS:
        # BaseDataElement supports ``in``; other objects fall back to attributes
        try:
            present = key in sample
        except TypeError:
            present = hasattr(sample, key)
        if present:
            return getattr(sample, key)
    raise KeyError(f'data sample {index} ({type(sample).__name__}) has no "gt_label"; the '
                   'loss needs class labels (is the label packed by the pipeline?)')


def labels_from_data_samples(data_samples: Sequence[Any],
                             device: torch.device | None = None) -> Tensor:
    """Collect one class index per sample into an int64 tensor ``(N,)``.

    Args:
        data_samples: a sequence of ``mmengine.structures.BaseDataElement``
            (or mmpretrain ``DataSample``) with ``gt_label``, or of dicts with
            ``'gt_label'`` or ``'label'``. A label is an int or a tensor with
            one element (shape ``()`` or ``(1,)``).
        device: device of the result (default: the labels' own device).

    Raises:
        KeyError: a sample carries no label.
        ValueError: a label holds more than one element.
    """
    if isinstance(data_samples, Tensor):
        raise TypeError('labels_from_data_samples expects a list of data samples; pass '
                        'a label tensor as gt_labels= instead')
    labels = []
    for i, sample in enumerate(data_samples):
        label = torch.as_tensor(_label_of(sample, i))
        if label.numel() != 1:
            raise ValueError(f'data sample {i}: expected one class index as label, got '
                             f'shape {tuple(label.shape)}')
        labels.append(label.reshape(1).long())
    if not labels:
        return torch.zeros(0, dtype=torch.long, device=device)
    out = torch.cat([lb.to(labels[0].device) for lb in labels])
    return out if device is None else out.to(device)


def resolve_labels(name: str, logits: Tensor, data_samples: Sequence[Any] | None,
                   gt_labels: Tensor | None) -> Tensor:
    """Labels for a loss that needs them: ``gt_labels`` if given, else from the samples.

    Args:
        name: the loss's name, for error messages.
        logits: the student logits ``(N, C)``; sets the expected count and device.
        data_samples: the batch's data samples, or None.
        gt_labels: a label tensor ``(N,)``, or None.

    Raises:
        ValueError: no labels at all, a wrong count, or a label outside ``[0, C)``.
    """
    if gt_labels is None:
        if data_samples is None:
            raise ValueError(f'{name} needs class labels: pass data_samples (with '
                             f'gt_label/label) or gt_labels=<LongTensor (N,)>')
        gt_labels = labels_from_data_samples(data_samples)
    labels = torch.as_tensor(gt_labels).reshape(-1).to(device=logits.device, dtype=torch.long)
    if labels.numel() != logits.shape[0]:
        raise ValueError(f'{name}: {labels.numel()} labels for logits of shape '
                         f'{tuple(logits.shape)}')
    if labels.numel() and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(f'{name}: labels must lie in [0, {logits.shape[1]}), got '
                         f'{labels.min().item()}..{labels.max().item()}')
    return labels


def check_same_shape(name: str, student: Tensor, teacher: Tensor, hint: str = '') -> None:
    """Raise ``ValueError`` naming both shapes unless they are equal."""
    if student.shape != teacher.shape:
        raise ValueError(f'{name}: student {tuple(student.shape)} and teacher '
                         f'{tuple(teacher.shape)} must have the same shape.{hint}')


def check_logits(name: str, student: Tensor, teacher: Tensor) -> None:
    """Logits must be ``(N, C)`` and equal in shape."""
    check_same_shape(name, student, teacher)
    if student.dim() != 2:
        raise ValueError(f'{name} expects logits of shape (N, C), got {tuple(student.shape)}')


def float_dtype(x: Tensor) -> torch.dtype:
    """At least float32 (fp16 / bf16 losses are computed in fp32)."""
    return torch.promote_types(x.dtype, torch.float32)
