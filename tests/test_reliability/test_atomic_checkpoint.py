"""kd.AtomicCheckpointHook saves through an atomic file backend; --resume picks a complete file."""
import importlib.util
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import get_file_backend
from mmengine.fileio.backends import LocalBackend

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _train_module():
    spec = importlib.util.spec_from_file_location('kd_tools_train',
                                                  osp.join(ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Runner:
    """What CheckpointHook uses of a Runner; save_checkpoint behaves like MMEngine's."""

    def __init__(self, work_dir):
        from mmengine.logging import MessageHub, MMLogger
        self.work_dir = str(work_dir)
        self.logger = MMLogger.get_instance('atomic_ckpt_test')
        self.message_hub = MessageHub.get_instance('atomic_ckpt_test')
        self.epoch, self.iter = 0, 0
        self.saved = []

    def save_checkpoint(self, out_dir, filename, file_client_args=None, backend_args=None,
                        **kwargs):
        from mmengine.runner.checkpoint import save_checkpoint
        self.saved.append(backend_args)
        save_checkpoint({'w': torch.full((3,), float(len(self.saved)))},
                        osp.join(out_dir, filename), backend_args=backend_args)


def test_runtime_bases_select_the_atomic_hook():
    for name in ('default_runtime_det.py', 'default_runtime_cls.py'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', name))
        assert cfg.default_hooks.checkpoint.type == 'kd.AtomicCheckpointHook', name


def test_hook_saves_through_the_atomic_backend(tmp_path):
    from kd.hooks import AtomicCheckpointHook
    from kd.utils.atomic import AtomicLocalBackend
    hook = AtomicCheckpointHook(interval=1, by_epoch=False, max_keep_ckpts=2)
    runner = _Runner(tmp_path)
    hook.before_train(runner)
    assert type(hook.file_backend) is AtomicLocalBackend
    for step in (1, 2, 3):
        runner.iter = step
        hook._save_checkpoint_with_step(runner, step, meta={})
    assert all(type(get_file_backend(str(tmp_path), backend_args=args)) is
               AtomicLocalBackend for args in runner.saved)
    # MMEngine's own bookkeeping is unchanged: two kept, pointer to the last
    assert sorted(os.listdir(tmp_path)) == ['iter_2.pth', 'iter_3.pth', 'last_checkpoint']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_3.pth')
    assert torch.equal(torch.load(tmp_path / 'iter_3.pth')['w'], torch.full((3,), 3.0))


def test_a_save_killed_before_the_rename_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    from kd.hooks import AtomicCheckpointHook
    hook = AtomicCheckpointHook(interval=1, by_epoch=False)
    runner = _Runner(tmp_path)
    hook.before_train(runner)
    hook._save_checkpoint_with_step(runner, 1, meta={})

    def killed(fd):
        raise KeyboardInterrupt('killed while the checkpoint is being written')

    monkeypatch.setattr(os, 'fsync', killed)
    with pytest.raises(KeyboardInterrupt):
        hook._save_checkpoint_with_step(runner, 1, meta={})   # overwrite iter_1 with "2"
    assert torch.equal(torch.load(tmp_path / 'iter_1.pth')['w'], torch.full((3,), 1.0))
    assert [f for f in os.listdir(tmp_path) if '.tmp.' in f] == []


def test_remote_out_dir_keeps_mmengine_backend(tmp_path):
    from kd.hooks import AtomicCheckpointHook
    hook = AtomicCheckpointHook(interval=1, backend_args=dict(backend='local'))
    hook.before_train(_Runner(tmp_path))
    assert hook.backend_args == dict(backend='kd_atomic_local')
    # a backend other than the local one is left alone
    from mmengine.fileio import register_backend

    class MemoryBackend(LocalBackend):
        pass

    register_backend('kd_test_memory', MemoryBackend, force=True)
    other = AtomicCheckpointHook(interval=1, backend_args=dict(backend='kd_test_memory'))
    other.before_train(_Runner(tmp_path))
    assert type(other.file_backend) is MemoryBackend
    assert other.backend_args == dict(backend='kd_test_memory')


def test_backend_name_taken_by_another_class_is_refused():
    from mmengine.fileio import register_backend
    from mmengine.fileio.io import backends

    from kd.utils.atomic import ATOMIC_LOCAL_BACKEND, AtomicLocalBackend, register_atomic_backend

    class Other(LocalBackend):
        pass

    register_backend(ATOMIC_LOCAL_BACKEND, Other, force=True)
    try:
        with pytest.raises(RuntimeError, match='Register yours under another name'):
            register_atomic_backend()
    finally:
        register_backend(ATOMIC_LOCAL_BACKEND, AtomicLocalBackend, force=True)
    assert backends[ATOMIC_LOCAL_BACKEND] is AtomicLocalBackend


def test_train_resume_picks_the_newest_complete_checkpoint(tmp_path):
    choose = _train_module().choose_resume_checkpoint
    for name in ('epoch_1.pth', 'epoch_3.pth', 'epoch_2.pth'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_4.pth'))  # never written
    cfg = Config(dict(resume=True, load_from=None, work_dir=str(tmp_path)))
    choose(cfg)
    assert cfg.resume is True and cfg.load_from == str(tmp_path / 'epoch_3.pth')

    explicit = Config(dict(resume=True, load_from='given.pth', work_dir=str(tmp_path)))
    choose(explicit)
    assert explicit.load_from == 'given.pth'

    empty = tmp_path / 'empty'
    empty.mkdir()
    fresh = Config(dict(resume=True, load_from=None, work_dir=str(empty)))
    choose(fresh)
    assert fresh.resume is False and fresh.load_from is None
