"""Check that every distributed rank ends training with the same weights."""
from __future__ import annotations

import json
import os.path as osp

import torch
from mmengine.dist import all_gather, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from kd.registry import HOOKS


@HOOKS.register_module()
class WeightsConsistencyHook(Hook):
    """After training, compare a fingerprint of the trained weights across ranks.

    Each rank sums its trainable weights (parameters) in float64, plus a sum
    of squares weighted by position so permutations are caught, and the
    fingerprints are gathered. Buffers are not compared: with MMDetection's
    default ``broadcast_buffers=False`` every rank keeps BatchNorm running
    statistics of its own data (rank 0's are the ones saved), which is
    expected; use SyncBN to share them. Identical fingerprints are logged and written to
    ``<work_dir>/weights_consistency.json``; different ones raise, because
    ranks that drift apart silently train different models.

    Args:
        raise_on_mismatch: raise ``RuntimeError`` when ranks differ.
    """

    priority = 'VERY_LOW'

    def __init__(self, raise_on_mismatch: bool = True) -> None:
        self.raise_on_mismatch = raise_on_mismatch

    @staticmethod
    def fingerprint(model: torch.nn.Module) -> torch.Tensor:
        total = torch.zeros(2, dtype=torch.float64)
        for _, tensor in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            flat = tensor.detach().double().flatten().cpu()
            pos = torch.arange(1, flat.numel() + 1, dtype=torch.float64)
            total += torch.stack([flat.sum(), (flat * flat * pos).sum() / flat.numel()])
        return total

    def after_run(self, runner) -> None:
        if get_world_size() == 1:
            return  # nothing to compare
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        mine = self.fingerprint(model)
        prints = [p.tolist() for p in all_gather(mine)]
        same = all(p == prints[0] for p in prints)
        result = dict(world_size=get_world_size(), identical=same, fingerprints=prints)
        if get_rank() == 0:
            with open(osp.join(runner.work_dir, 'weights_consistency.json'), 'w') as f:
                json.dump(result, f)
        if same:
            runner.logger.info(f'WeightsConsistencyHook: all {get_world_size()} ranks hold '
                               'identical weights')
        else:
            msg = f'WeightsConsistencyHook: ranks hold different weights: {prints}'
            if self.raise_on_mismatch:
                raise RuntimeError(msg)
            runner.logger.warning(msg)
