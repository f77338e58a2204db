"""Teacher and student features of a distiller's entries, and their rendering as images.

Used by ``tools/analysis_tools/vis_features.py`` and ``kd.FeatureVisualizationHook``.

:func:`collect_features` runs the distiller's teacher(s) and student once more on a
batch (normally one image) with the recorders on, in eval mode and without
gradients, and returns, for every distill entry and level, the two tensors the
entry's loss compares: the student record *after its connector* and the teacher
record (after a teacher connector, if any). The distiller's own training step
cannot be reused for this: its recorders are reset at the end of every
``loss()`` call, so nothing is left to look at afterwards.

:func:`render_pair` draws one entry/level as an RGB ``uint8`` image with the
panels *input* | *teacher* | *student after connector* | *|student - teacher|*
(and FGD's foreground mask when the entry's loss is ``FGDLoss``):

* a ``(C, H, W)`` feature is shown as the channel mean of absolute values,
  ``mean_c |x|``; teacher and student share one colour scale, the difference
  ``mean_c |s - t|`` has its own;
* a ``(L, C)`` record (tokens, queries) is shown as the ``|x|`` matrix;
* a ``(C,)`` record (logits, embeddings) is shown as signed bars on one shared
  y-range, the difference as ``|s - t|`` bars.

Only the first image of the batch is drawn. matplotlib (a runtime requirement)
renders off-screen through its Agg canvas; pyplot is not used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ['FeaturePair', 'collect_features', 'render_pair', 'input_to_image', 'first_sample',
           'unwrap_model']


@dataclass
class FeaturePair:
    """One entry/level: the first image's student (after connector) and teacher records."""

    entry: str
    level: str | None
    student: Tensor
    teacher: Tensor
    loss_type: str = ''
    connector: bool = True                  # the student went through a connector
    mask: Tensor | None = None           # FGD foreground mask (H, W)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.entry if self.level is None else f'{self.entry}.level{self.level}'


def unwrap_model(model: nn.Module) -> nn.Module:
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


def first_sample(batch: Any) -> Any:
    """The first sample of a collated batch (lists and tensors cut to length 1)."""
    if isinstance(batch, dict):
        return {k: first_sample(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return list(batch[:1])
    if isinstance(batch, Tensor) and batch.dim() > 0:
        return batch[:1]
    return batch


def _leaves(record: Any) -> list[Any]:
    if isinstance(record, (list, tuple)):
        return [leaf for item in record for leaf in _leaves(item)]
    return [record]


def _first_image(x: Tensor) -> Tensor:
    x = x.detach().float().cpu()
    return x[0] if x.dim() >= 2 else x


def _fgd_mask(loss_fn: nn.Module, teacher: Tensor, data_samples) -> tuple:
    """FGD's foreground mask of the first image, or (None, why not)."""
    try:
        from kd.losses.detection import fgd as fgd_module
    except ImportError:
        return None, 'FGD is not available in this kd version'
    if data_samples is None:
        return None, 'no data samples: no FGD foreground mask'
    try:
        boxes, shapes = loss_fn.boxes_from_data_samples(list(data_samples[:1]), 1)
    except ValueError as err:
        return None, f'no FGD foreground mask ({err})'
    h, w = teacher.shape[-2:]
    fg, _ = fgd_module.fgd_masks(boxes, shapes, (int(h), int(w)),
                                 impl=getattr(loss_fn, 'mask_impl', 'rows'),
                                 device=teacher.device)
    return fg[0].detach().float().cpu(), None


def collect_features(distiller: nn.Module, inputs: Tensor, data_samples: list | None = None,
                     entries: Sequence[str] | None = None) -> list[FeaturePair]:
    """Every entry's student (after connector) and teacher features for ``inputs``.

    Args:
        distiller: a kd distiller (anything with ``compute_pairs`` and ``entries``,
            e.g. :class:`~kd.distillers.BaseDistiller`), possibly wrapped (DDP).
        inputs: a preprocessed batch (the output of the distiller's data
            preprocessor); only its first image is returned.
        data_samples: the batch's data samples (needed by DETR-family models
            and for FGD's foreground mask).
        entries: entry names to collect (default: all).

    The pairs are the distiller's own (``distiller.compute_pairs``), so they are
    exactly what each entry's loss compares. The models run in eval mode
    (BatchNorm uses its running statistics and is not updated) without
    gradients; the training mode is restored afterwards.
    """
    import kd.losses

    model = unwrap_model(distiller)
    if not callable(getattr(model, 'compute_pairs', None)) or not hasattr(model, 'entries'):
        raise TypeError(f'feature visualisation needs a kd distiller (with compute_pairs), '
                        f'got {type(model).__name__}')
    fgd_type = getattr(kd.losses, 'FGDLoss', None)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            computed = model.compute_pairs(inputs, data_samples, entries)
    finally:
        model.train(was_training)
    pairs: list[FeaturePair] = []
    for name, levels in computed.items():
        entry = model.entries[name]
        for i, (s, t) in enumerate(levels):
            loss_fn = entry.loss_at(i)
            s_leaves, t_leaves = _leaves(s), _leaves(t)
            for j, (sl, tl) in enumerate(zip(s_leaves, t_leaves)):
                if not isinstance(sl, Tensor) or not isinstance(tl, Tensor):
                    continue
                notes = []
                align = getattr(loss_fn, 'align', None)
                if sl.shape != tl.shape and isinstance(align, nn.Module) and sl.dim() == 4:
                    with torch.no_grad():
                        sl = align(sl)  # e.g. FGD's own 1x1 conv to the teacher's channels
                    notes.append('student after the loss\'s align conv')
                level = str(i) if entry.num_levels is not None or len(levels) > 1 else None
                if len(s_leaves) > 1:
                    level = f'{level}.{j}' if level is not None else str(j)
                pair = FeaturePair(name, level, _first_image(sl), _first_image(tl),
                                   loss_type=type(loss_fn).__name__,
                                   connector=entry.connectors is not None or bool(notes),
                                   notes=notes)
                if fgd_type is not None and isinstance(loss_fn, fgd_type) and tl.dim() == 4:
                    pair.mask, why = _fgd_mask(loss_fn, tl, data_samples)
                    if why:
                        pair.notes.append(why)
                pairs.append(pair)
    return pairs


def input_to_image(inputs: Tensor, data_preprocessor: nn.Module | None = None) -> np.ndarray:
    """Undo the preprocessor's normalisation of one ``(C, H, W)`` input: RGB uint8 (H, W, 3).

    The preprocessor has already put the channels in the model's order (RGB for
    MMDetection's ``bgr_to_rgb=True`` and for kd's classification data).
    """
    x = inputs.detach().float().cpu()
    if x.dim() == 4:
        x = x[0]
    mean, std = getattr(data_preprocessor, 'mean', None), getattr(data_preprocessor, 'std', None)
    if getattr(data_preprocessor, '_enable_normalize', False) and isinstance(mean, Tensor) \
            and isinstance(std, Tensor):
        x = x * std.detach().float().cpu().view(-1, 1, 1) + \
            mean.detach().float().cpu().view(-1, 1, 1)
    x = x.clamp(0, 255).round().to(torch.uint8)
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return x[:3].permute(1, 2, 0).contiguous().numpy()


def _heat(x: Tensor) -> Tensor:
    """What is drawn for one record: (H, W) map, (L, C) matrix or (C,) vector."""
    if x.dim() >= 3:
        x = x.reshape(-1, *x.shape[-2:])
        return x.abs().mean(0)
    return x.abs() if x.dim() == 2 else x


def render_pair(pair: FeaturePair, image: np.ndarray | None = None,
                dpi: int = 100) -> np.ndarray:
    """Draw one entry/level as an RGB uint8 array (see the module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s, t = pair.student, pair.teacher
    hs, ht = _heat(s), _heat(t)
    diff = None
    why_no_diff = ''
    if s.shape == t.shape:
        diff = _heat(s - t) if s.dim() >= 2 else (s - t).abs()
    else:
        why_no_diff = f'shapes differ\n{tuple(s.shape)} vs {tuple(t.shape)}'
    panels = (['input'] if image is not None else []) + ['teacher', 'student', 'diff'] + \
        (['mask'] if pair.mask is not None else [])
    fig = Figure(figsize=(2.7 * len(panels), 3.1), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    shape = lambda x: '×'.join(map(str, x.shape))  # noqa: E731
    vector = hs.dim() == 1 and ht.dim() == 1
    if vector:
        lo = float(min(hs.min(), ht.min(), 0))
        hi = float(max(hs.max(), ht.max(), 0))
        pad = 0.05 * (hi - lo or 1.0)
        ylim = (lo - pad, hi + pad)
    else:
        vmax = float(max(hs.max(), ht.max())) if hs.numel() and ht.numel() else 1.0
        vmax = vmax or 1.0
    for ax, kind in zip(axes, panels):
        if kind == 'input':
            ax.imshow(image)
            ax.set_title('input', fontsize=9)
        elif kind in ('teacher', 'student'):
            data, raw = (ht, t) if kind == 'teacher' else (hs, s)
            title = f'teacher {shape(raw)}' if kind == 'teacher' else \
                f'student{" after connector" if pair.connector else ""} {shape(raw)}'
            if vector:
                ax.bar(np.arange(data.numel()), data.numpy(), color='tab:blue'
                       if kind == 'teacher' else 'tab:orange')
                ax.set_ylim(*ylim)
                ax.xaxis.get_major_locator().set_params(integer=True)
            elif data.dim() == 2 and raw.dim() >= 2:
                im = ax.imshow(data.numpy(), cmap='viridis', vmin=0, vmax=vmax,
                               interpolation='nearest', aspect='auto' if raw.dim() == 2
                               else 'equal')
                fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            else:
                ax.text(0.5, 0.5, f'cannot draw {shape(raw)}', ha='center', va='center')
            ax.set_title(title, fontsize=9)
        elif kind == 'diff':
            if diff is None:
                ax.text(0.5, 0.5, f'no difference map:\n{why_no_diff}', ha='center',
                        va='center', fontsize=8)
            elif diff.dim() == 1:
                ax.bar(np.arange(diff.numel()), diff.numpy(), color='tab:red')
                ax.xaxis.get_major_locator().set_params(integer=True)
            else:
                im = ax.imshow(diff.numpy(), cmap='magma', vmin=0, interpolation='nearest',
                               aspect='auto' if s.dim() == 2 else 'equal')
                fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            ax.set_title('|student − teacher|', fontsize=9)
        elif kind == 'mask':
            im = ax.imshow(pair.mask.numpy(), cmap='gray', vmin=0, interpolation='nearest')
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            ax.set_title('FGD foreground mask', fontsize=9)
        if not vector or kind in ('input', 'mask'):
            ax.set_xticks([])
            ax.set_yticks([])
    title = f'{pair.name} ({pair.loss_type})' if pair.loss_type else pair.name
    if pair.notes:
        title += '\n' + '; '.join(pair.notes)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[..., :3])
