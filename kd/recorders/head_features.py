"""Record the intermediate features of a dense head's conv stacks, one per level.

Dense one-stage heads of MMDetection (``RetinaHead``, ``GFLHead``, ``ATSSHead``,
``FCOSHead``) run two stacks of ``ConvModule``\\ s, ``cls_convs`` and
``reg_convs``, on every FPN level before their output convolutions. Cross-head
methods (CrossKD) take the features of both stacks after the first ``depth``
convolutions *before* that convolution's activation, and feed them to another
head's remaining layers.

The pre-activation value is the input of the ``ConvModule``'s ``activate``
layer (the output of its norm, or of its conv without a norm). The activation
is usually an in-place ReLU that overwrites that tensor, so the recorder keeps
a clone (a differentiable copy: gradients still reach the student's head).
``depth=0`` records the stacks' input (the FPN level itself).

``outputs`` names more sub-modules of the head (its output convolutions,
``retina_cls`` / ``retina_reg``) whose per-level outputs go into the same
dicts: on the teacher side CrossKD then takes the teacher's own predictions
from the teacher's forward instead of running those layers again.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from kd.registry import MODELS

from .base import BaseRecorder, resolve_module


@MODELS.register_module()
class HeadConvFeaturesRecorder(BaseRecorder):
    """Per head call (one FPN level), ``{branch: feature after conv depth, pre-activation}``.

    Args:
        source: the head module, e.g. ``'bbox_head'``.
        depth: how many convolutions of each stack have run (``1..len(stack)``;
            ``0``: the stack's input).
        branches: the conv stacks (``ModuleList`` attributes of the head).
        call: keep the record of one call (one level) only.
        outputs: head sub-modules whose outputs are recorded too, per call,
            under their names (kept as they are: the output layers do not
            change them in place).

    The record of one step is a list with one ``dict`` per call of the head's
    per-level forward (``[{'cls_convs': T, 'reg_convs': T}, ...]`` for the
    levels), or the single ``dict`` when the head ran once.
    """

    kind = 'head_conv_features'

    def __init__(self, source: str, depth: int,
                 branches: Sequence[str] = ('cls_convs', 'reg_convs'),
                 call: int | None = None, outputs: Sequence[str] = ()) -> None:
        super().__init__(source, index=None, call=call)
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f'HeadConvFeaturesRecorder: depth must be an int >= 0, got '
                             f'{depth!r}')
        if isinstance(branches, str) or not branches:
            raise TypeError(f'HeadConvFeaturesRecorder: branches must be a list of conv '
                            f'stack names, got {branches!r}')
        if isinstance(outputs, str):
            raise TypeError(f'HeadConvFeaturesRecorder: outputs must be a list of module '
                            f'names, got {outputs!r}')
        self.depth = depth
        self.branches = tuple(branches)
        self.outputs = tuple(outputs)
        overlap = set(self.branches) & set(self.outputs)
        if overlap:
            raise ValueError(f'HeadConvFeaturesRecorder: {sorted(overlap)} are both branches '
                             'and outputs')
        self._branch_records: dict[str, list[torch.Tensor]] = {
            b: [] for b in self.branches + self.outputs}
        self._handles: list[RemovableHandle] = []

    # ------------------------------------------------------------------ attach
    def prepare(self, model: nn.Module) -> None:
        """Hook the pre-activation point of every branch of the head ``source``."""
        if self._handles:
            raise RuntimeError(f'{self!r} is already attached; call remove() first.')
        head = resolve_module(model, self.source, 'head module')
        points = []
        for branch in self.branches:
            stack = getattr(head, branch, None)
            if not isinstance(stack, nn.ModuleList) or len(stack) == 0:
                raise KeyError(f'{type(head).__name__} ("{self.source}") has no non-empty '
                               f'conv stack "{branch}" (a ModuleList of ConvModules)')
            if self.depth > len(stack):
                raise ValueError(f'{self!r}: depth={self.depth} but "{self.source}.{branch}" '
                                 f'has {len(stack)} convolution(s)')
            points.append((branch, stack))
        outputs = []
        for name in self.outputs:
            module = getattr(head, name, None)
            if not isinstance(module, nn.Module):
                raise KeyError(f'{type(head).__name__} ("{self.source}") has no sub-module '
                               f'"{name}" (outputs=)')
            outputs.append((name, module))
        for branch, stack in points:
            self._handles.append(self._hook(branch, stack))
        for name, module in outputs:
            self._handles.append(module.register_forward_hook(
                lambda m, args, out, _name=name: self._keep_output(_name, out)))
        self._model_name = type(model).__name__

    def _keep_output(self, name: str, value: Any) -> None:
        if self.recording:
            self._branch_records[name].append(value)

    def _hook(self, branch: str, stack: nn.ModuleList) -> RemovableHandle:
        def keep(value: Any) -> None:
            if self.recording:
                self._branch_records[branch].append(value.clone())

        if self.depth == 0:
            return stack[0].register_forward_pre_hook(lambda m, args: keep(args[0]))
        conv = stack[self.depth - 1]
        act = getattr(conv, 'activate', None)
        if getattr(conv, 'with_activation', False) and isinstance(act, nn.Module):
            return act.register_forward_pre_hook(lambda m, args: keep(args[0]))
        return conv.register_forward_hook(lambda m, args, out: keep(out))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._model_name = None

    # ------------------------------------------------------------------ data
    def reset(self) -> None:
        self._branch_records = {b: [] for b in self.branches + self.outputs}
        self._records = []

    @property
    def num_calls(self) -> int:
        return min(len(v) for v in self._branch_records.values())

    def get(self) -> Any:
        counts = {b: len(v) for b, v in self._branch_records.items()}
        if len(set(counts.values())) != 1:
            raise RuntimeError(f'{self!r}: the branches ran a different number of times '
                               f'in this step ({counts})')
        self._records = [{b: self._branch_records[b][i] for b in self.branches + self.outputs}
                         for i in range(self.num_calls)]
        return super().get()

    def __repr__(self) -> str:
        extra = f', outputs={list(self.outputs)}' if self.outputs else ''
        return (f'{type(self).__name__}(source={self.source!r}, depth={self.depth}, '
                f'branches={list(self.branches)}{extra})')
