"""A hook that kills one rank mid-training (imported by test_rank_crash.py's runs)."""
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class CrashOneRankHook(Hook):
    def __init__(self, rank: int = 1, at_iter: int = 1) -> None:
        self.rank, self.at_iter = rank, at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if get_rank() == self.rank and runner.iter + 1 >= self.at_iter:
            raise RuntimeError(f'simulated crash of rank {self.rank} at iteration {runner.iter}')
