"""MultiTeacherDistiller: per-teacher records, weighted averaging, minimal forwards, errors."""
import pytest
import torch
import torch.nn.functional as F

from kd.distillers import MultiTeacherDistiller
from kd.registry import MODELS

from .toy_models import toy_batch, toy_cfg


@pytest.fixture
def two_teachers(tmp_path):
    cfg = tmp_path / 't.py'
    cfg.write_text("model = dict(type='kd.ToyClassifier', width=8, out=8)\n")
    out = {}
    for i, name in enumerate(('t1', 't2')):
        torch.manual_seed(10 + i)
        model = MODELS.build(dict(type='kd.ToyClassifier', width=8, out=8))
        path = tmp_path / f'{name}.pth'
        torch.save({'state_dict': model.state_dict()}, path)
        out[name] = dict(config=str(cfg), checkpoint=str(path))
    return out


def _make(teachers, distill):
    return MultiTeacherDistiller(student=toy_cfg(width=4, out=8), teachers=teachers,
                                 distill=distill, probe_shape=(3, 16, 16))


def test_weighted_average_of_teacher_logits(two_teachers):
    model = _make(two_teachers, dict(kd=dict(
        student='head', teacher=dict(teachers=dict(t1=0.75, t2=0.25), source='head'),
        loss=dict(type='KDLoss', tau=2.0))))
    inputs, samples = toy_batch()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        t = 0.75 * model.teachers['t1'](inputs) + 0.25 * model.teachers['t2'](inputs)
    s = model.student(inputs)
    p = F.softmax(t / 2, 1)
    expected = (p * (p.log() - F.log_softmax(s / 2, 1))).sum(1).mean() * 4
    torch.testing.assert_close(losses['distill.kd'], expected)
    assert not any(k.startswith('teacher') for k in model.state_dict())


def test_entries_name_their_teacher_and_only_needed_teachers_run(two_teachers):
    model = _make(two_teachers, dict(
        a=dict(student='neck', teacher='t1.neck', loss=dict(type='FeatureMSELoss')),
        b=dict(student='head', teacher=dict(teacher='t2', source='head'),
               loss=dict(type='KDLoss'))))
    assert model.teacher_forward_modes == {'t1': 'extract_feat', 't2': 'head:head'}
    calls = {'t1': 0, 't2': 0}
    for name, t in model.teachers.items():
        t.backbone.register_forward_hook(lambda *a, n=name: calls.__setitem__(n, calls[n] + 1))
    inputs, samples = toy_batch()
    losses = model.loss(inputs, samples)
    assert calls == {'t1': 1, 't2': 1}
    with torch.no_grad():
        t_feats = model.teachers['t1'].extract_feat(inputs)
    s_feats = model.student.extract_feat(inputs)
    expected = sum(F.mse_loss(s, t) for s, t in zip(s_feats, t_feats))
    torch.testing.assert_close(losses['distill.a'], expected)
    before = dict(calls)                      # (the reference forward above counted too)
    model.entries['b'].factor = 0.0     # entry b off: teacher t2 does not run
    model.loss(inputs, samples)
    assert calls == {'t1': before['t1'] + 1, 't2': before['t2']}


def test_multi_teacher_errors(two_teachers):
    with pytest.raises(KeyError, match='teacher name'):
        _make(two_teachers, dict(a=dict(student='neck', teacher='t3.neck',
                                        loss=dict(type='FeatureMSELoss'))))
    with pytest.raises(ValueError, match='must name one'):
        _make(two_teachers, dict(a=dict(student='neck', teacher=dict(source='neck'),
                                        loss=dict(type='FeatureMSELoss'))))
    with pytest.raises(KeyError, match='unknown teachers'):
        _make(two_teachers, dict(a=dict(student='neck',
                                        teacher=dict(teachers=dict(t9=1.0), source='neck'),
                                        loss=dict(type='FeatureMSELoss'))))
    bad = dict(two_teachers)
    bad['t2'] = dict(bad['t2'], checkpoint=None)
    with pytest.raises(ValueError, match='"t2" has no checkpoint'):
        _make(bad, dict(a=dict(student='neck', teacher='t1.neck',
                               loss=dict(type='FeatureMSELoss'))))
