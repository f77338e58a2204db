"""Loss-weight schedules: hand-worked factors, validation, distiller integration, resume."""
import math

import pytest
import torch
from torch.utils.data import Dataset

from kd.engine.schedules import progress_factor, schedule_factor, validate_schedule
from tests.test_distillers.test_single_teacher import NECK_CWD, make, teacher_files  # noqa: F401
from tests.test_distillers.toy_models import toy_batch


def f(cfg, step, total=100):
    return schedule_factor(validate_schedule(cfg), step, total)


def test_hand_worked_factors():
    assert f(dict(type='constant'), 50) == 1.0
    assert f(dict(type='constant', value=0.3), 7) == 0.3
    assert f(dict(type='linear', start=1.0, end=0.0), 25) == pytest.approx(0.75)
    assert f(dict(type='linear', start=0.0, end=2.0, begin=20, end_at=60), 10) == 0.0
    assert f(dict(type='linear', start=0.0, end=2.0, begin=20, end_at=60), 30) == pytest.approx(0.5)
    assert f(dict(type='linear', start=0.0, end=2.0, begin=20, end_at=60), 99) == 2.0
    cos = dict(type='cosine', start=1.0, end=0.1)
    assert f(cos, 0) == pytest.approx(1.0)
    assert f(cos, 50) == pytest.approx(0.55)           # 0.1 + 0.9 * (1 + cos(pi/2)) / 2
    assert f(cos, 25) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2)
    assert f(cos, 100) == pytest.approx(0.1)
    step = dict(type='step', start=2.0, milestones=[10, 20], gamma=0.5)
    assert [f(step, t) for t in (5, 10, 19, 20, 90)] == [2.0, 1.0, 1.0, 0.5, 0.5]


def test_warmup_multiplies_any_type():
    assert f(dict(type='constant', warmup=10), 0) == 0.0
    assert f(dict(type='constant', warmup=10), 5) == pytest.approx(0.5)
    assert f(dict(type='constant', warmup=10, warmup_start=0.2), 5) == pytest.approx(0.6)
    assert f(dict(type='constant', warmup=10), 10) == 1.0
    # linear 1 -> 0 over 100 with 10 warm-up steps: at 5, 0.95 * 0.5
    assert f(dict(type='linear', start=1.0, end=0.0, warmup=10), 5) == pytest.approx(0.475)


def test_by_epoch_uses_epochs():
    cfg = validate_schedule(dict(type='linear', start=1.0, end=0.0, by_epoch=True))
    assert progress_factor(cfg, iteration=999, epoch=3, max_iters=1000, max_epochs=12) == \
        pytest.approx(0.75)
    cfg = validate_schedule(dict(type='linear', start=1.0, end=0.0))
    assert progress_factor(cfg, iteration=250, epoch=3, max_iters=1000, max_epochs=12) == \
        pytest.approx(0.75)


@pytest.mark.parametrize('cfg,match', [
    (dict(type='exponential'), 'unknown schedule type'),
    (dict(type='linear', start=-1.0), 'negative'),
    (dict(type='cosine', stat=1.0), 'unknown keys'),
    (dict(type='step'), 'milestones'),
    (dict(type='step', milestones=[20, 10]), 'increasing'),
    (dict(type='linear', begin=50, end_at=10), 'after begin'),
])
def test_schedule_errors(cfg, match):
    with pytest.raises((ValueError, KeyError), match=match):
        validate_schedule(cfg, 'distill entry "fpn" schedule')


def test_distiller_applies_and_logs_factors(teacher_files):  # noqa: F811
    entry = dict(NECK_CWD['fpn'], schedule=dict(type='linear', start=1.0, end=0.0))
    model = make(teacher_files, dict(fpn=entry),
                 student_loss_schedule=dict(type='constant', value=0.5))
    inputs, samples = toy_batch()
    model.set_progress(0, max_iters=100)
    full = model.loss(inputs, samples)
    model.set_progress(75, max_iters=100)
    quarter = model.loss(inputs, samples)
    torch.testing.assert_close(quarter['distill.fpn'], 0.25 * full['distill.fpn'])
    assert quarter['factor.fpn'].item() == pytest.approx(0.25)
    assert quarter['factor.student'].item() == 0.5
    raw = model.student(inputs, samples, mode='loss')['loss_cls']
    torch.testing.assert_close(quarter['student.loss_cls'], 0.5 * raw)
    total, log_vars = model.parse_losses(quarter)
    torch.testing.assert_close(total, quarter['student.loss_cls'] + quarter['distill.fpn'])
    assert 'factor.fpn' in log_vars


def test_schedule_error_names_the_entry(teacher_files):  # noqa: F811
    with pytest.raises(ValueError, match='"fpn" schedule: unknown schedule type'):
        make(teacher_files, dict(fpn=dict(NECK_CWD['fpn'], schedule=dict(type='cosin'))))


def test_zero_factor_and_stop_skip_the_teacher(teacher_files):  # noqa: F811
    model = make(teacher_files, NECK_CWD)
    calls = []
    model.teacher.backbone.register_forward_hook(lambda *a: calls.append(1))
    model.loss(*toy_batch())
    assert len(calls) == 1
    model.distill_stopped = True
    losses = model.loss(*toy_batch())
    assert len(calls) == 1 and set(losses) == {'student.loss_cls', 'student.acc'}
    model.distill_stopped = False
    model.entries['fpn'].factor = 0.0
    model.loss(*toy_batch())
    assert len(calls) == 1


class _ToyData(Dataset):
    def __len__(self):
        return 32

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(3, 16, 16, generator=g),
                    data_samples=dict(label=torch.tensor(i % 3)))


def _collate(batch):
    return dict(inputs=[b['inputs'] for b in batch],
                data_samples=[b['data_samples'] for b in batch])


def _runner(work_dir, model_cfg, max_iters, hooks=(), resume=False):
    from mmengine.runner import Runner
    return Runner(
        model=model_cfg, work_dir=str(work_dir),
        train_dataloader=dict(dataset=_ToyData(), sampler=dict(type='InfiniteSampler'),
                              batch_size=4, num_workers=0, collate_fn=_collate),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=list(hooks), resume=resume, default_scope='kd',
        experiment_name=f'sched_{max_iters}_{resume}_{id(work_dir)}')


def _distiller_cfg(teacher_files, **extra):  # noqa: F811
    cfg, ckpt, _ = teacher_files
    return dict(type='kd.SingleTeacherDistiller',
                student=dict(type='kd.ToyClassifier', width=4, out=8),
                teacher=dict(config=cfg, checkpoint=ckpt), probe_shape=(3, 16, 16),
                distill=dict(fpn=dict(NECK_CWD['fpn'], schedule=dict(
                    type='linear', start=1.0, end=0.0))), **extra)


def test_resume_continues_schedule_and_stop_hook(teacher_files, tmp_path):  # noqa: F811
    first = _runner(tmp_path, _distiller_cfg(teacher_files), max_iters=2)
    first.train()
    resumed = _runner(tmp_path, _distiller_cfg(teacher_files), max_iters=4, resume=True,
                      hooks=[dict(type='kd.StopDistillHook', stop_iter=3)])
    calls = []
    resumed.model.teacher.backbone.register_forward_hook(lambda *a: calls.append(1))
    resumed.train()
    hub = resumed.message_hub.log_scalars
    # iteration index 2 of 4 (0-based): 1 - 2/4 = 0.5; from index 3 on: stopped
    history = hub['train/factor.fpn'].data[0]
    assert list(history[-2:]) == pytest.approx([0.5, 0.0])
    assert len(calls) == 1, 'the teacher ran after StopDistillHook stopped distillation'


def test_distill_val_loop_evaluates_teacher_once(teacher_files, tmp_path):  # noqa: F811
    from mmengine.evaluator import BaseMetric

    from kd.registry import METRICS

    @METRICS.register_module(force=True)
    class _Agreement(BaseMetric):
        """Fraction of predictions equal to label; counts how often it processes."""
        calls = 0

        def process(self, data_batch, data_samples):
            type(self).calls += 1
            labels = [d['label'] for d in data_batch['data_samples']]
            self.results += [int(p['pred'] == y) for p, y in zip(data_samples, labels)]

        def compute_metrics(self, results):
            return dict(acc=sum(results) / len(results))

    from mmengine.runner import Runner
    cfg, ckpt, _ = teacher_files
    runner = Runner(
        model=_distiller_cfg(teacher_files), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=_ToyData(), sampler=dict(type='InfiniteSampler'),
                              batch_size=4, num_workers=0, collate_fn=_collate),
        val_dataloader=dict(dataset=_ToyData(), sampler=dict(type='DefaultSampler',
                                                             shuffle=False),
                            batch_size=8, num_workers=0, collate_fn=_collate),
        val_evaluator=dict(type='kd._Agreement'),
        val_cfg=dict(type='kd.DistillValLoop'),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=4, val_interval=2),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2,
                                           save_best='auto'),
                           logger=dict(type='LoggerHook', interval=1)),
        default_scope='kd', experiment_name=f'valloop_{id(tmp_path)}')
    runner.train()
    # 32 val images / batch 8 = 4 batches: student twice (8) + teacher once (4)
    assert _Agreement.calls == 12
    metrics = runner.val_loop.run()
    assert list(metrics)[0] == 'acc' and 'teacher/acc' in metrics
    teacher = runner.model.teacher
    expected = sum(int(teacher(torch.stack([_ToyData()[i]['inputs']])).argmax() == i % 3)
                   for i in range(32)) / 32
    assert metrics['teacher/acc'] == pytest.approx(expected)
    import glob
    import os.path as osp
    best = [osp.basename(p) for p in glob.glob(str(tmp_path / 'best_*.pth'))]
    assert best and all(b.startswith('best_acc_iter_') for b in best), best  # the student's
    assert 'val/teacher/acc' in runner.message_hub.log_scalars
