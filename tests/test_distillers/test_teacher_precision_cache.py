"""Teacher autocast (bf16 on the CPU) and the per-sample teacher output cache."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from kd.distillers import MultiTeacherDistiller, SingleTeacherDistiller
from kd.registry import MODELS

from .toy_models import toy_batch, toy_cfg, write_toy_teacher

LOGITS_KD = dict(kd=dict(student='head', teacher='head', loss=dict(type='KDLoss', tau=2.0)))
NECK_CWD = dict(fpn=dict(student='neck', teacher='neck',
                         loss=dict(type='ChannelWiseDivergence', tau=1.0)))


@pytest.fixture
def teacher_files(tmp_path):
    return write_toy_teacher(tmp_path)


def make(teacher_files, distill, **teacher):
    cfg, ckpt, _ = teacher_files
    return SingleTeacherDistiller(
        student=toy_cfg(width=4, out=8),
        teacher=dict(config=cfg, checkpoint=ckpt, **teacher),
        distill=distill, probe_shape=(3, 16, 16))


def indexed_batch(indices, seed=0):
    """A toy batch whose samples carry their data set index."""
    inputs, samples = toy_batch(n=len(indices), seed=seed)
    for s, i in zip(samples, indices):
        s['sample_idx'] = i
    return inputs, samples


# ------------------------------------------------------------------ autocast
def test_bf16_teacher_on_cpu_gives_float32_records_and_close_loss(teacher_files):
    distill = dict(LOGITS_KD, **NECK_CWD)
    fp32 = make(teacher_files, distill)
    bf16 = make(teacher_files, distill, autocast='bf16')
    bf16.student.load_state_dict(fp32.student.state_dict())
    inputs, samples = toy_batch()

    bf16.teacher_side.run(inputs, samples, list(bf16.entries))
    try:
        raw = bf16.teacher_side.recorders.get('kd')
        assert raw.dtype == torch.bfloat16          # the teacher really ran in bf16
        assert bf16.teacher_side.record('kd').dtype == torch.float32
        assert all(t.dtype == torch.float32 for t in bf16.teacher_side.record('fpn'))
    finally:
        bf16.teacher_side.reset()

    ref, low = fp32.loss(inputs, samples), bf16.loss(inputs, samples)
    for key in ('distill.kd', 'distill.fpn'):
        assert low[key].dtype == torch.float32
        assert torch.isfinite(low[key])
        torch.testing.assert_close(low[key], ref[key], rtol=5e-2, atol=1e-3)
    torch.testing.assert_close(low['student.loss_cls'], ref['student.loss_cls'])
    low['distill.kd'].backward()   # the student side still trains in float32


def test_fp16_teacher_on_cpu_is_refused_with_a_clear_message(teacher_files):
    model = make(teacher_files, LOGITS_KD, autocast='fp16')  # the probe runs in float32
    inputs, samples = toy_batch()
    with pytest.raises(ValueError, match="autocast='fp16' needs a CUDA device.*'bf16'"):
        model.loss(inputs, samples)


def test_unknown_autocast_value_is_refused(teacher_files):
    with pytest.raises(ValueError, match="autocast='float8'"):
        make(teacher_files, LOGITS_KD, autocast='float8')


def test_multi_teacher_autocast_per_teacher(tmp_path):
    cfg = tmp_path / 't.py'
    cfg.write_text("model = dict(type='kd.ToyClassifier', width=8, out=8)\n")
    teachers = {}
    for i, name in enumerate(('t1', 't2')):
        torch.manual_seed(10 + i)
        path = tmp_path / f'{name}.pth'
        torch.save({'state_dict': MODELS.build(
            dict(type='kd.ToyClassifier', width=8, out=8)).state_dict()}, path)
        teachers[name] = dict(config=str(cfg), checkpoint=str(path))
    teachers['t1']['autocast'] = 'bf16'
    model = MultiTeacherDistiller(
        student=toy_cfg(width=4, out=8), teachers=teachers, probe_shape=(3, 16, 16),
        distill=dict(kd=dict(student='head', teacher=dict(teachers=dict(t1=0.5, t2=0.5),
                                                          source='head'),
                             loss=dict(type='KDLoss'))))
    inputs, samples = toy_batch()
    model.teacher_side.run(inputs, samples, list(model.entries))
    try:
        assert model.teacher_side.members['t1'].recorders.get('kd@t1').dtype == torch.bfloat16
        assert model.teacher_side.members['t2'].recorders.get('kd@t2').dtype == torch.float32
        record = model.teacher_side.record('kd')
        assert record.dtype == torch.float32
        with torch.no_grad():
            expected = 0.5 * model.teachers['t1'](inputs) + 0.5 * model.teachers['t2'](inputs)
        torch.testing.assert_close(record, expected, rtol=5e-2, atol=5e-2)
    finally:
        model.teacher_side.reset()
    assert torch.isfinite(model.loss(inputs, samples)['distill.kd'])


# --------------------------------------------------------------------- cache
def test_cache_returns_the_teachers_logits_and_skips_the_teacher(teacher_files, tmp_path):
    path = str(tmp_path / 'cache' / 'teacher_logits.pt')
    model = make(teacher_files, LOGITS_KD, cache=path)
    head = model.teacher.head
    head.calls = 0                                   # the build-time probe called it
    inputs, samples = indexed_batch([3, 7, 11, 20])

    first = model.loss(inputs, samples)['distill.kd']
    assert head.calls == 1 and model.teacher_side.cache.misses == 1
    assert len(model.teacher_side.cache) == 4
    second = model.loss(inputs, samples)['distill.kd']
    assert head.calls == 1, 'the teacher ran although every sample was cached'
    assert model.teacher_side.cache.hits == 1
    assert torch.equal(first, second)

    # the cached records are exactly the live teacher's logits, in any batch order
    order = [20, 3, 11]
    cached = model.teacher_side.cache.get(order)['kd']
    with torch.no_grad():
        live = model.teacher(inputs, mode='tensor')[[3, 0, 2]]
    assert torch.equal(cached, live)
    assert cached.dtype == torch.float32

    # a batch with one unseen sample runs the teacher again
    head.calls = 0
    model.loss(*indexed_batch([3, 7, 11, 99]))
    assert head.calls == 1 and len(model.teacher_side.cache) == 5


def test_cache_file_is_written_atomically_and_read_at_build(teacher_files, tmp_path):
    path = str(tmp_path / 'teacher_logits.pt')
    model = make(teacher_files, LOGITS_KD, cache=path)
    inputs, samples = indexed_batch([0, 1, 2, 3])
    model.loss(inputs, samples)
    assert model.teacher_side.save_cache() == path and osp.isfile(path)
    assert model.teacher_side.save_cache() is None        # nothing new: not rewritten

    again = make(teacher_files, LOGITS_KD, cache=path)
    assert len(again.teacher_side.cache) == 4
    again.teacher.head.calls = 0
    losses = again.loss(inputs, samples)
    assert again.teacher.head.calls == 0
    with torch.no_grad():
        live = again.teacher(inputs, mode='tensor')
    assert torch.equal(again.teacher_side.cache.get([0, 1, 2, 3])['kd'], live)
    assert torch.isfinite(losses['distill.kd'])

    # a file made with another teacher is refused, naming the difference
    (tmp_path / 'other').mkdir()
    other = write_toy_teacher(tmp_path / 'other', seed=5)
    with pytest.raises(ValueError, match='made from another teacher.*checkpoint'):
        make(other, LOGITS_KD, cache=path)


def test_cache_refuses_multi_level_records_and_missing_indices(teacher_files, tmp_path):
    with pytest.raises(ValueError, match='record several levels'):
        make(teacher_files, NECK_CWD, cache=str(tmp_path / 'c.pt'))
    model = make(teacher_files, LOGITS_KD, cache=str(tmp_path / 'c.pt'))
    with pytest.raises(ValueError, match='no `sample_idx`.*PackDetInputs'):
        model.loss(*toy_batch())


def test_cache_is_refused_for_a_trainable_teacher(teacher_files, tmp_path):
    with pytest.raises(ValueError, match='frozen teacher'):
        make(teacher_files, LOGITS_KD, cache=str(tmp_path / 'c.pt'), trainable=True)


def _cache_cfg(tmp_path, pipeline):
    return Config(dict(
        model=dict(type='kd.SingleTeacherDistiller',
                   teacher=dict(config='t.py', cache=str(tmp_path / 'c.pt'))),
        train_dataloader=dict(dataset=dict(type='RepeatDataset', times=2, dataset=dict(
            type='DigitsClsDataset', pipeline=pipeline)))))


def test_random_training_pipeline_is_refused_at_build(tmp_path):
    from kd.apis.runner import check_teacher_cache
    for transform, name in ((dict(type='RandomShiftCrop', pad=2), 'RandomShiftCrop'),
                            (dict(type='mmdet.RandomFlip', prob=0.5), 'RandomFlip'),
                            (dict(type='SomeFlip', prob=0.5), r'SomeFlip \(prob=0.5\)'),
                            (dict(type='PhotoMetricDistortion'), 'PhotoMetricDistortion')):
        cfg = _cache_cfg(tmp_path, [transform, dict(type='PackClsInputs')])
        with pytest.raises(ValueError, match=f'deterministic training pipeline.*{name}'):
            check_teacher_cache(cfg)
    cfg = _cache_cfg(tmp_path, [dict(type='SomeFlip', prob=1.0), dict(type='PackClsInputs')])
    check_teacher_cache(cfg)
    assert dict(type='kd.TeacherCacheHook') in cfg.custom_hooks


def test_hook_refuses_a_built_random_pipeline_and_saves_after_epochs(teacher_files,
                                                                      tmp_path):
    from mmengine.dataset import Compose

    from kd.datasets.transforms import PackClsInputs, RandomShiftCrop
    from kd.hooks import TeacherCacheHook

    path = str(tmp_path / 'c.pt')
    model = make(teacher_files, LOGITS_KD, cache=path)
    logs = []
    runner = SimpleNamespace(
        model=model, logger=SimpleNamespace(info=logs.append),
        train_dataloader=SimpleNamespace(dataset=SimpleNamespace(
            pipeline=Compose([RandomShiftCrop(pad=2), PackClsInputs()]))))
    hook = TeacherCacheHook()
    with pytest.raises(ValueError, match='RandomShiftCrop'):
        hook.before_train(runner)
    runner.train_dataloader.dataset.pipeline = Compose([PackClsInputs()])
    hook.before_train(runner)

    model.loss(*indexed_batch([0, 1]))
    hook.after_train_epoch(runner)
    assert osp.isfile(path) and '2 samples written' in logs[-1]
    hook.after_train(runner)                 # nothing new: no second write
    assert len(logs) == 1
