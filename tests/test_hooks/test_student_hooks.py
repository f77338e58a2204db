"""RTMDet/YOLOX training hooks act on the distiller's student (kd.StudentHook).

Each DigitsDet recipe trains 2 epochs of 2 iterations under MMEngine's Runner with a
random teacher; the switch epochs are set to 1 so that every hook acts once.
"""
import math

import pytest
import torch
from mmengine.hooks import Hook

from kd.apis import build_runner, load_config
from tests.test_configs.test_recipes import _with_random_teacher

pytest.importorskip('mmdet')

#: DigitsDet recipes of the RTMDet and YOLOX pairs (the method zoo lists them)
HOOK_RECIPES = ['configs/rtmdet_kd/cwd_rtmdet_digits.py',
                'configs/yolox_kd/yolo_kd_yolox_digits.py']


def _epoch_overrides(root, work_dir, mix_dataset=False):
    train = 'train_dataloader.dataset.dataset' if mix_dataset else 'train_dataloader.dataset'
    opts = [f'work_dir={work_dir}', f'{train}.data_root={root}/', f'{train}.indices=16',
            f'val_dataloader.dataset.data_root={root}/',
            f'test_dataloader.dataset.data_root={root}/',
            f'val_evaluator.ann_file={root}/annotations/val.json',
            f'test_evaluator.ann_file={root}/annotations/val.json',
            'train_dataloader.batch_size=8', 'val_dataloader.batch_size=8',
            'val_dataloader.dataset.indices=8',
            'train_cfg.max_epochs=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
            'param_scheduler=[]', 'model.student.test_cfg.score_thr=0.0']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False']
    return opts


class _Spy(Hook):
    """Records the student's head switch and its weights after every iteration."""

    priority = 'LOWEST'   # after EMAHook's update

    def __init__(self):
        self.use_l1, self.weights = [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.use_l1.append((runner.epoch, getattr(runner.model.student.bbox_head,
                                                  'use_l1', None)))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.weights.append({k: v.detach().clone()
                             for k, v in runner.model.student.state_dict().items()})


def _wrapped(runner, name):
    found = [h.hook for h in runner.hooks if type(h).__name__ == 'StudentHook'
             and type(h.hook).__name__ == name]
    assert len(found) == 1, name
    return found[0]


def _set_ema(cfg, momentum=0.5, gamma=1):
    """A fast-moving average, so that two steps already leave a visible difference."""
    for hook in cfg.custom_hooks:
        if hook.get('hook', {}).get('type') == 'EMAHook':
            hook.hook.update(momentum=momentum, gamma=gamma)


def _check_ema(runner, spy, work_dir, momentum=0.5, gamma=1):
    """EMA covers the student alone, follows ExpMomentumEMA, and is what is exported."""
    model = runner.model
    ema = _wrapped(runner, 'EMAHook').ema_model
    assert type(ema.module) is type(model.student) and ema.module is not model.student
    assert set(ema.module.state_dict()) == set(model.student.state_dict())
    assert not any(k.startswith(('entries', 'teacher')) for k in ema.state_dict())
    assert 'teacher' not in vars(ema.module)
    # the average, recomputed from the student's weights after each step
    key = next(k for k, v in model.student.state_dict().items()
               if v.dtype.is_floating_point and 'conv' in k and v.dim() == 4)
    expected = spy.weights[0][key].clone()
    for step, weights in enumerate(spy.weights[1:], start=1):
        m = (1 - momentum) * math.exp(-(1 + step) / gamma) + momentum
        expected = expected + m * (weights[key] - expected)
    assert torch.allclose(ema.module.state_dict()[key], expected, atol=1e-6)
    raw = model.student.state_dict()[key]
    assert not torch.allclose(raw, expected)
    # student_last.pth holds the averaged student
    exported = torch.load(work_dir / 'student_last.pth', weights_only=True)['state_dict']
    assert set(exported) == set(model.student.state_dict())
    assert torch.equal(exported[key], ema.module.state_dict()[key])
    # the distillation checkpoint: averaged student in state_dict, raw in ema_state_dict,
    # connectors as trained
    ckpt = torch.load(work_dir / 'epoch_2.pth', weights_only=True)
    assert torch.equal(ckpt['state_dict'][f'student.{key}'], ema.module.state_dict()[key])
    assert torch.equal(ckpt['ema_state_dict'][f'module.{key}'], raw)
    assert not any('teacher' in k for k in ckpt['state_dict'])
    for k, v in model.state_dict().items():
        if k.startswith('entries.'):
            assert torch.equal(ckpt['state_dict'][k], v), k


def test_rtmdet_recipe_hooks_act_on_the_student(tiny_digits_det, tmp_path):
    cfg = load_config(_with_random_teacher(tmp_path, HOOK_RECIPES[0]),
                      _epoch_overrides(tiny_digits_det, tmp_path))
    for hook in cfg.custom_hooks:
        if hook.get('hook', {}).get('type') == 'PipelineSwitchHook':
            hook.hook.switch_epoch = 1
        if hook.type == 'kd.StopDistillHook':
            hook.stop_epoch = 1
    _set_ema(cfg)
    runner = build_runner(cfg)
    spy = _Spy()
    runner.register_hook(spy)
    assert [t.__class__.__name__ for t in runner.train_dataloader.dataset.pipeline.transforms][2] \
        == 'CachedMosaic'
    runner.train()
    model = runner.model
    # distillation ran in epoch 0 only (StopDistillHook), on all three neck levels
    scalars = runner.message_hub.log_scalars
    for level in ('fpn0', 'fpn1', 'fpn2'):
        values = scalars[f'train/distill.{level}'].data[0]
        assert len(values) == 2 and all(math.isfinite(v) and v > 0 for v in values)
    assert model.distill_stopped
    assert model.entries['fpn0'].connectors[0].norm.affine is False
    # PipelineSwitchHook switched the training pipeline to stage 2
    names = [t.__class__.__name__ for t in runner.train_dataloader.dataset.pipeline.transforms]
    assert 'CachedMosaic' not in names and names[2] == 'RandomResize'
    assert _wrapped(runner, 'PipelineSwitchHook')._has_switched
    _check_ema(runner, spy, tmp_path)
    # resuming puts the raw weights back in the student and the average in the EMA model
    raw = {k: v.clone() for k, v in runner.model.student.state_dict().items()}
    averaged = _wrapped(runner, 'EMAHook').ema_model.module.state_dict()
    cfg.resume, cfg.load_from = True, str(tmp_path / 'epoch_2.pth')
    resumed = build_runner(cfg)
    resumed.call_hook('before_run')
    resumed.load_or_resume()
    ema = _wrapped(resumed, 'EMAHook').ema_model.module.state_dict()
    for key, value in resumed.model.student.state_dict().items():
        assert torch.equal(value, raw[key]), key
        assert torch.equal(ema[key], averaged[key]), key


def test_yolox_recipe_hooks_act_on_the_student(tiny_digits_det, tmp_path, monkeypatch):
    import mmdet.engine.hooks.sync_norm_hook as sync_norm
    synced = []

    def all_reduce_dict(states, op='mean'):
        synced.append(set(states))
        return states

    monkeypatch.setattr(sync_norm, 'get_dist_info', lambda: (0, 2))  # as if 2 ranks
    monkeypatch.setattr(sync_norm, 'all_reduce_dict', all_reduce_dict)
    cfg = load_config(_with_random_teacher(tmp_path, HOOK_RECIPES[1]),
                      _epoch_overrides(tiny_digits_det, tmp_path, mix_dataset=True))
    for hook in cfg.custom_hooks:
        if hook.get('hook', {}).get('type') == 'YOLOXModeSwitchHook':
            hook.hook.num_last_epochs = 0     # switch for the second (last) epoch
    _set_ema(cfg)
    runner = build_runner(cfg)
    spy = _Spy()
    runner.register_hook(spy)
    runner.train()
    model = runner.model
    # YOLOXModeSwitchHook: the student's head gets its L1 loss in epoch 1, and the
    # mosaic dataset skips Mosaic and RandomAffine
    assert spy.use_l1 == [(0, False), (0, False), (1, True), (1, True)]
    assert model.student.bbox_head.use_l1 is True
    scalars = runner.message_hub.log_scalars
    assert len(scalars['train/student.loss_l1'].data[0]) == 2
    assert runner.train_dataloader.dataset._skip_type_keys == ('Mosaic', 'RandomAffine', 'MixUp')
    values = scalars['train/distill.yolox'].data[0]
    assert len(values) == 4 and all(math.isfinite(v) and v > 0 for v in values)
    # SyncNormHook averaged the student's BN states (and nothing of the distiller's)
    bn_keys = {k for k in model.student.state_dict()
               if k.rsplit('.', 1)[-1] in ('running_mean', 'running_var', 'weight', 'bias',
                                           'num_batches_tracked')}
    assert len(synced) == 1 and synced[0] and synced[0] <= bn_keys
    assert not any(k.startswith(('student.', 'entries.', 'teacher')) for k in synced[0])
    _check_ema(runner, spy, tmp_path)


def test_unwrapped_model_hooks_are_refused_under_a_distiller(tiny_digits_det, tmp_path):
    cfg = load_config(_with_random_teacher(tmp_path, HOOK_RECIPES[1]),
                      _epoch_overrides(tiny_digits_det, tmp_path, mix_dataset=True))
    cfg.custom_hooks = [dict(type='YOLOXModeSwitchHook', num_last_epochs=1),
                        dict(type='kd.StudentCheckpointHook')]
    runner = build_runner(cfg)
    with pytest.raises(TypeError, match="YOLOXModeSwitchHook.*kd.StudentHook"):
        runner.call_hook('before_run')


def test_student_hook_on_a_plain_detector_and_checkpoint_keys():
    """Without a distiller the hook sees the model; a student checkpoint maps back."""
    from kd.hooks.student_hook import StudentHook, StudentRunnerView

    seen = {}

    class Probe(Hook):
        priority = 'LOW'

        def before_train(self, runner):
            seen['model'] = runner.model

        def before_save_checkpoint(self, runner, checkpoint):
            seen['keys'] = sorted(checkpoint['state_dict'])
            checkpoint['state_dict']['w'] = torch.ones(1)
            checkpoint['extra'] = 1

    class Runner:
        def __init__(self, model):
            self.model = model

    plain, student = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    distiller = torch.nn.Module()
    distiller.student = student
    hook = StudentHook(Probe())
    assert hook.priority == 'LOW' and hook.get_triggered_stages() == \
        Probe().get_triggered_stages()
    hook.before_train(Runner(plain))
    assert seen['model'] is plain
    hook.before_train(Runner(distiller))
    assert seen['model'] is student
    checkpoint = {'state_dict': {'student.w': torch.zeros(1), 'entries.x': torch.zeros(1)}}
    hook.before_save_checkpoint(Runner(distiller), checkpoint)
    assert seen['keys'] == ['w']
    assert torch.equal(checkpoint['state_dict']['student.w'], torch.ones(1))
    assert set(checkpoint['state_dict']) == {'student.w', 'entries.x'}
    assert checkpoint['extra'] == 1
    with pytest.raises(AttributeError, match='cannot replace'):
        StudentRunnerView(Runner(distiller)).model = plain
