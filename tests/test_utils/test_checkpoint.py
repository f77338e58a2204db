"""Checkpoints on torch >= 2.6: weights_only loading with MMEngine's types allowed."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import kd  # noqa: F401  (installs the allowlist)
from kd.utils.checkpoint import load_checkpoint_file


class _Regression(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return {'loss': ((out - targets) ** 2).mean()}
        return out


class _Points(Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(64, 2, generator=g)
        self.y = self.x @ torch.tensor([[1.5], [-2.0]]) + 0.3

    def __len__(self):
        return 64

    def __getitem__(self, i):
        return dict(inputs=self.x[i], targets=self.y[i])


def _runner(work_dir, max_iters, resume=False):
    return Runner(
        model=_Regression(),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=_Points(), sampler=dict(type='InfiniteSampler'),
                              batch_size=8, num_workers=0,
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        resume=resume,
        default_scope='mmengine',
        experiment_name=f'ckpt_{max_iters}_{resume}_{osp.basename(str(work_dir))}')


def test_mmengine_checkpoint_holds_types_that_need_the_allowlist(tmp_path):
    """Without kd's allowlist, torch's weights_only loader rejects MMEngine checkpoints."""
    runner = _runner(tmp_path, max_iters=3)
    runner.train()
    ckpt = tmp_path / 'iter_3.pth'
    code = ('import torch, sys\n'
            'try:\n'
            f'    torch.load({str(ckpt)!r}, weights_only=True)\n'
            'except Exception as e:\n'
            '    print("REJECTED", type(e).__name__); sys.exit(0)\n'
            'print("LOADED")\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert 'REJECTED' in out.stdout, out.stdout + out.stderr
    data = load_checkpoint_file(str(ckpt))  # with kd: allowed
    assert data['meta']['iter'] == 3
    hub = data['message_hub']['log_scalars']
    assert any(isinstance(v, HistoryBuffer) for v in hub.values())


def test_resume_round_trip_matches_uninterrupted_training(tmp_path):
    """Train 6 iters straight vs 3 + resume 3: identical weights and iteration."""
    straight = _runner(tmp_path / 'a', max_iters=6)
    straight.train()
    first = _runner(tmp_path / 'b', max_iters=3)
    first.train()
    resumed = _runner(tmp_path / 'b', max_iters=6, resume=True)
    resumed.train()
    assert resumed.iter == 6
    for (name, p1), (_, p2) in zip(straight.model.state_dict().items(),
                                   resumed.model.state_dict().items()):
        torch.testing.assert_close(p1, p2, msg=name)


def test_allowlist_still_refuses_arbitrary_objects(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': subprocess.Popen}, path)
    with pytest.raises(RuntimeError, match='Popen, which the safe loader refuses'):
        load_checkpoint_file(str(path))


def test_numpy_payload_allowed(tmp_path):
    path = tmp_path / 'np.pth'
    torch.save({'a': np.arange(3), 'b': np.float64(1.5), 'c': np.int64(2)}, path)
    data = load_checkpoint_file(str(path))
    assert data['b'] == 1.5 and list(data['a']) == [0, 1, 2]


def test_missing_and_truncated_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))
    good = tmp_path / 'good.pth'
    torch.save({'w': torch.ones(1000)}, good)
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(good.read_bytes()[:500])
    with pytest.raises(RuntimeError, match='truncated'):
        load_checkpoint_file(str(bad))


class _GetattrPayload:
    """Pickles as getattr(HistoryBuffer, '__init__'): not a statistics method."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'x': _GetattrPayload()}, path)
    with pytest.raises(RuntimeError, match='could not read checkpoint'):
        load_checkpoint_file(str(path))
