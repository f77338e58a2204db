"""Property-based checks (hypothesis): losses, schedules and record specs on random inputs."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kd  # noqa: F401
from kd.engine.schedules import schedule_factor, validate_schedule
from kd.losses import (
    ATLoss,
    ChannelWiseDivergence,
    DISTLoss,
    DKDLoss,
    FeatureMSELoss,
    ICKDLoss,
    KDLoss,
    NSTLoss,
    PKDLoss,
)
from kd.recorders import ModuleOutputsRecorder, RecorderManager

# derandomize: the same examples on every run, so CI cannot fail on one run and pass
# on the next; the examples still cover the strategies' edges (sizes of 1, ...)
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

shapes = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 5), st.integers(1, 5))
scales = st.floats(0.01, 100.0)

FEATURE_LOSSES = {  # loss, zero on identical inputs
    'mse': (FeatureMSELoss(), True),
    'cwd': (ChannelWiseDivergence(tau=1.0), True),
    'at': (ATLoss(), True),
    'pkd': (PKDLoss(), False),        # standardisation with +1e-6: near zero, not exact
    'ickd': (ICKDLoss(), True),
    'nst': (NSTLoss(), True),
}


@SETTINGS
@given(shape=shapes, scale=scales, seed=st.integers(0, 2**16),
       name=st.sampled_from(sorted(FEATURE_LOSSES)))
def test_feature_losses_finite_with_finite_student_gradients(shape, scale, seed, name):
    loss_fn, exact_zero = FEATURE_LOSSES[name]
    g = torch.Generator().manual_seed(seed)
    s = (torch.randn(shape, generator=g) * scale).requires_grad_()
    t = torch.randn(shape, generator=g) * scale
    t.requires_grad_()
    n, _, h, w = shape
    if name == 'pkd' and n * h * w < 2:
        # one value per channel has no standard deviation: PKD refuses it by name
        with pytest.raises(ValueError, match='at least 2 values per channel'):
            loss_fn(s, t)
        return
    loss = loss_fn(s, t)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(s.grad).all()
    assert t.grad is None or not t.grad.any()       # the teacher is a constant
    same = loss_fn(t.detach(), t.detach())
    assert same.abs() < (1e-5 if exact_zero else 1e-3) * max(1.0, float(loss.abs()))


@SETTINGS
@given(n=st.integers(2, 8), c=st.integers(2, 12), scale=scales, seed=st.integers(0, 2**16))
def test_logit_losses_finite_and_kd_zero_on_identical(n, c, scale, seed):
    g = torch.Generator().manual_seed(seed)
    s = (torch.randn(n, c, generator=g) * scale).requires_grad_()
    t = torch.randn(n, c, generator=g) * scale
    labels = torch.randint(0, c, (n,), generator=g)
    for loss in (KDLoss(tau=4.0)(s, t), DKDLoss()(s, t, gt_labels=labels),
                 DISTLoss()(s, t)):
        assert torch.isfinite(loss)
        grad, = torch.autograd.grad(loss, s)
        assert torch.isfinite(grad).all()
    assert KDLoss(tau=4.0)(t, t).abs() < 1e-5


@SETTINGS
@given(kind=st.sampled_from(['constant', 'linear', 'cosine', 'step']),
       start=st.floats(0, 10), end=st.floats(0, 10), warmup=st.integers(0, 20),
       total=st.integers(1, 200), step=st.integers(0, 250), gamma=st.floats(0, 1))
def test_schedule_factor_stays_within_its_bounds(kind, start, end, warmup, total, step, gamma):
    if kind == 'constant':
        cfg = dict(type=kind, value=start)
        low, high = 0.0, start
    elif kind == 'step':
        cfg = dict(type=kind, start=start, milestones=[total // 3, total // 2], gamma=gamma)
        low, high = 0.0, start
    else:
        cfg = dict(type=kind, start=start, end=end)
        low, high = 0.0, max(start, end)
    cfg['warmup'] = warmup
    cfg = validate_schedule(cfg, 'test schedule')
    factor = schedule_factor(cfg, step, total)
    assert low - 1e-9 <= factor <= high + 1e-9
    if kind in ('linear', 'cosine') and step >= max(warmup, total):
        assert factor == pytest.approx(end, abs=1e-9)


@SETTINGS
@given(levels=st.integers(1, 5), index=st.integers(-6, 6))
def test_record_index_picks_the_item_or_says_why(levels, index):
    model = torch.nn.Module()
    model.m = torch.nn.Identity()
    manager = RecorderManager({'r': ModuleOutputsRecorder('m', index=index)})
    manager.prepare(model)
    items = tuple(torch.full((1,), float(i)) for i in range(levels))
    with manager:
        model.m(items)
        if -levels <= index < levels:
            assert torch.equal(manager.get('r'), items[index])
        else:
            with pytest.raises(IndexError, match=f'index={index} is out of range'):
                manager.get('r')
    manager.remove()


@SETTINGS
@given(counts=st.lists(st.integers(0, 20), min_size=1, max_size=3), seed=st.integers(0, 2**16),
       scale=scales)
def test_fgd_finite_on_random_box_sets(counts, seed, scale):
    mmdet_structures = pytest.importorskip('mmdet.structures')
    from mmengine.structures import InstanceData

    from kd.losses import FGDLoss
    g = torch.Generator().manual_seed(seed)
    samples = []
    for k in counts:   # boxes anywhere in a 64x80 image, degenerate ones included
        xy = torch.rand(k, 2, generator=g) * torch.tensor([80.0, 64.0])
        wh = torch.rand(k, 2, generator=g) * 40
        boxes = torch.cat([xy, (xy + wh).minimum(torch.tensor([80.0, 64.0]))], 1)
        s = mmdet_structures.DetDataSample(metainfo=dict(
            img_shape=(64, 80), pad_shape=(64, 80), batch_input_shape=(64, 80)))
        s.gt_instances = InstanceData(bboxes=boxes, labels=torch.zeros(k, dtype=torch.long))
        samples.append(s)
    loss_fn = FGDLoss(student_channels=4, teacher_channels=6)
    s = (torch.randn(len(counts), 4, 8, 10, generator=g) * scale).requires_grad_()
    t = torch.randn(len(counts), 6, 8, 10, generator=g) * scale
    loss = loss_fn(s, t, data_samples=samples)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(s.grad).all()
