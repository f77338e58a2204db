"""SIGKILL at a random iteration, --resume, and the weights equal an uninterrupted run's."""
import os
import os.path as osp
import random
import signal
import subprocess
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _recipe(tmp_path, data_root):
    """Deterministic distillation recipe: connectors and a schedule, no augmentation."""
    from mmengine.config import Config

    import kd  # noqa: F401
    from kd.registry import MODELS
    torch.manual_seed(1)
    teacher = MODELS.build(Config.fromfile(
        osp.join(ROOT, 'configs/baselines/resnet_teacher_digits_cls.py')).model)
    ckpt = tmp_path / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    path = tmp_path / 'recipe.py'
    path.write_text(f"""
_base_ = ['kd::kd/kd_cosine_resnet_digits_cls.py']
model = dict(teacher=dict(checkpoint='{ckpt}'), distill=dict(stages=dict(
    student='backbone', teacher='backbone', connector=dict(type='ConvConnector'),
    loss=dict(type='FeatureMSELoss', loss_weight=0.1),
    schedule=dict(type='linear', start=1.0, end=0.2))))
_loader = dict(num_workers=0, persistent_workers=False, batch_size=8)
train_dataloader = dict(_loader, dataset=dict(data_root='{data_root}',
                                              pipeline=[dict(type='PackClsInputs')]))
val_dataloader = dict(_loader, dataset=dict(data_root='{data_root}'))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=3, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
""")
    return str(path)


def _cmd(recipe, work_dir, *extra):
    return [sys.executable, osp.join(ROOT, 'tools/train.py'), recipe, '--work-dir',
            str(work_dir), *extra]


ENV = dict(os.environ, OMP_NUM_THREADS='1')


def _weights(work_dir):
    state = torch.load(osp.join(work_dir, 'epoch_3.pth'), map_location='cpu',
                       weights_only=False)['state_dict']
    return {k: v for k, v in state.items() if k.startswith(('student.', 'entries.'))}


def test_sigkill_then_resume_matches_uninterrupted(tiny_digits_cls, tmp_path):
    recipe = _recipe(tmp_path, tiny_digits_cls)
    straight = subprocess.run(_cmd(recipe, tmp_path / 'straight'), cwd=ROOT, env=ENV,
                              capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr[-3000:]

    kill_at = random.Random().randint(1, 7)   # an iteration of epoch 2 (8 per epoch)
    work = tmp_path / 'killed'
    proc = subprocess.Popen(_cmd(recipe, work), cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    killed = False
    for line in proc.stdout:
        if f'Epoch(train) [2][{kill_at}/8]' in line:
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
    proc.wait(timeout=600)
    assert killed and proc.returncode == -signal.SIGKILL, f'kill at iteration {kill_at}'
    assert osp.isfile(work / 'epoch_1.pth') and not osp.isfile(work / 'epoch_3.pth')
    assert not [f for f in os.listdir(work) if '.tmp.' in f]   # no half-written file

    resumed = subprocess.run(_cmd(recipe, work, '--resume'), cwd=ROOT, env=ENV,
                             capture_output=True, text=True, timeout=600)
    out = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, out[-3000:]
    assert 'epoch_1.pth' in out and 'Epoch(train) [2][1/8]' in out
    a, b = _weights(tmp_path / 'straight'), _weights(work)
    assert a.keys() == b.keys() and any(k.startswith('entries.') for k in a)
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-6), \
            f'{key} differs after a kill at epoch 2 iteration {kill_at} and resume'


def test_stale_last_checkpoint_pointer_falls_back_to_newest_file(tmp_path):
    import kd  # noqa: F401
    from kd.utils.atomic import find_latest_checkpoint
    for name in ('iter_2.pth', 'iter_10.pth', 'iter_4.pth'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_12.pth'))  # never finished
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_10.pth')
    (tmp_path / 'last_checkpoint').write_text('')                            # cut mid-write
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_10.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path):
    from kd.utils.atomic import atomic_torch_save
    path = tmp_path / 'ckpt.pth'
    atomic_torch_save({'a': torch.ones(2)}, str(path))

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError('boom')

    try:
        atomic_torch_save({'a': Unpicklable()}, str(path))
    except RuntimeError:
        pass
    assert torch.equal(torch.load(path)['a'], torch.ones(2))
    assert os.listdir(tmp_path) == ['ckpt.pth']
