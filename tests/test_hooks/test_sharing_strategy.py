"""kd.SharingStrategyHook: sets the strategy for a run, restores it, moves the same values."""
import pytest
import torch
import torch.multiprocessing as torch_mp
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader, Dataset

from kd.hooks import SharingStrategyHook
from kd.registry import HOOKS


class _Samples(Dataset):
    """Many small tensors per batch, as DigitsCls yields them."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randint(0, 256, (3, 4, 4), generator=g, dtype=torch.uint8),
                    label=torch.tensor([i % 3]))


def _batches() -> list:
    loader = DataLoader(_Samples(), batch_size=4, num_workers=1, collate_fn=pseudo_collate)
    return list(loader)


def test_sets_the_strategy_for_the_run_and_restores_it():
    if 'file_system' not in torch_mp.get_all_sharing_strategies():
        pytest.skip('file_system sharing is not available on this platform')
    before = torch_mp.get_sharing_strategy()
    hook = HOOKS.build(dict(type='kd.SharingStrategyHook', strategy='file_system'))
    hook.before_run(None)
    try:
        assert torch_mp.get_sharing_strategy() == 'file_system'
        during = _batches()
    finally:
        hook.after_run(None)
    assert torch_mp.get_sharing_strategy() == before
    plain = _batches()
    # the values the training process receives do not depend on the transport
    assert len(during) == len(plain) == 2
    for a, b in zip(during, plain):
        for x, y in zip(a['inputs'] + a['label'], b['inputs'] + b['label']):
            assert torch.equal(x, y)
    assert [int(t) for t in plain[1]['label']] == [4 % 3, 5 % 3, 6 % 3, 7 % 3]


def test_unknown_strategy_names_the_choices():
    with pytest.raises(ValueError, match=r"'shared_files' is not available.*file_descriptor"):
        SharingStrategyHook(strategy='shared_files')


def test_classification_runtime_registers_it():
    cfg = Config.fromfile('configs/baselines/resnet_student_digits_cls.py')
    assert cfg.default_hooks.sharing_strategy == dict(type='kd.SharingStrategyHook',
                                                      strategy='file_system')
