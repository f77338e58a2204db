"""Recorders: capture, selection, lifetime and error messages."""
from __future__ import annotations

import gc
import weakref

import pytest
import torch
from torch import nn

from kd.recorders import (
    BaseRecorder,
    MethodOutputsRecorder,
    ModuleInputsRecorder,
    ModuleOutputsRecorder,
    RecorderManager,
    build_recorder,
)
from kd.registry import MODELS


class Head(nn.Module):
    """A head whose conv is shared across levels (called once per level)."""

    def __init__(self) -> None:
        super().__init__()
        self.shared_conv = nn.Conv2d(4, 2, 1)

    def forward(self, feats: tuple[torch.Tensor, ...]) -> tuple[list, list]:
        cls = [self.shared_conv(f) for f in feats]
        reg = [f.mean(1, keepdim=True) for f in feats]
        return cls, reg


class ToyDetector(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.neck = Neck()
        self.bbox_head = Head()

    def extract_feat(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.neck(self.backbone(x))

    def forward(self, x: torch.Tensor) -> tuple[list, list]:
        return self.bbox_head(self.extract_feat(x))


class Neck(nn.Module):
    """Three 'FPN levels' from one map."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return x, x[..., ::2, ::2], x[..., ::4, ::4]


class TwoInputs(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


@pytest.fixture
def model() -> ToyDetector:
    torch.manual_seed(0)
    return ToyDetector()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(2, 3, 8, 8)


def _manager(model: nn.Module, **specs) -> RecorderManager:
    return RecorderManager.from_specs(specs, model)


def test_module_outputs_recorded(model, x):
    manager = _manager(model, neck='neck', layer='backbone.0')
    with manager:
        model(x)
    feats = manager.get('neck')
    assert isinstance(feats, tuple) and len(feats) == 3
    torch.testing.assert_close(feats[0], model.backbone(x))
    assert manager.get('layer').shape == (2, 4, 8, 8)


def test_module_inputs_recorded(model, x):
    manager = RecorderManager({
        'single': ModuleInputsRecorder('neck'),
        'tuple': ModuleInputsRecorder('bbox_head'),
    })
    manager.prepare(model)
    with manager:
        model(x)
    # one positional input: returned as is, not as a 1-tuple
    torch.testing.assert_close(manager.get('single'), model.backbone(x))
    assert isinstance(manager.get('tuple'), tuple) and len(manager.get('tuple')) == 3


def test_module_inputs_index_picks_one_argument():
    model = nn.Sequential()
    model.add = TwoInputs()
    both = ModuleInputsRecorder('add')
    second = ModuleInputsRecorder('add', index=1)
    for r in (both, second):
        r.prepare(model)
        r.recording = True
    a, b = torch.ones(1), torch.zeros(1)
    model.add(a, b)
    assert second.get() is b
    assert both.get() == (a, b)


def test_method_outputs_recorded(model, x):
    manager = _manager(model, head='bbox_head.forward', feat='extract_feat')
    assert isinstance(manager['head'], MethodOutputsRecorder)
    assert isinstance(manager['feat'], MethodOutputsRecorder)
    with manager:
        out = model(x)
    assert manager.get('head') is out
    assert len(manager.get('feat')) == 3


def test_nothing_recorded_outside_context(model, x):
    manager = _manager(model, neck='neck', head='bbox_head.forward')
    model(x)
    with pytest.raises(RuntimeError, match='never ran'):
        manager.get('neck')
    with manager:
        model(x)
    model(x)  # after the block: not stored
    assert manager['neck'].num_calls == 1
    assert manager['head'].num_calls == 1
    assert not manager.recording


def test_entering_clears_previous_step(model, x):
    manager = _manager(model, neck='neck')
    with manager:
        model(x)
    first = manager.get('neck')
    with manager:
        model(x * 2)
    assert manager['neck'].num_calls == 1
    assert manager.get('neck') is not first


def test_skipped_source_error_is_clear(model, x):
    manager = _manager(model, head='bbox_head')
    with manager:
        model.extract_feat(x)  # e.g. a teacher forward that skips the head
    with pytest.raises(RuntimeError, match='never ran.*teacher'):
        manager.get('head')


def test_not_prepared_error():
    with pytest.raises(RuntimeError, match='prepare'):
        ModuleOutputsRecorder('neck').get()


def test_hooks_removed(model, x):
    manager = _manager(model, neck='neck', inp=dict(source='neck', type='module_inputs'),
                       head='bbox_head.forward')
    assert model.neck._forward_hooks and model.neck._forward_pre_hooks
    assert 'forward' in vars(model.bbox_head)
    manager.remove()
    assert not model.neck._forward_hooks
    assert not model.neck._forward_pre_hooks
    assert 'forward' not in vars(model.bbox_head)
    assert model.bbox_head.forward.__func__ is Head.forward
    with manager:
        model(x)
    assert all(r.num_calls == 0 for r in manager.recorders.values())


def test_module_called_three_times(model, x):
    specs = dict(
        all=dict(source='bbox_head.shared_conv'),
        first=dict(source='bbox_head.shared_conv', call=0),
        last=dict(source='bbox_head.shared_conv', call=-1),
    )
    manager = _manager(model, **specs)
    with manager:
        cls, _ = model(x)
    per_level = manager.get('all')
    assert isinstance(per_level, list) and len(per_level) == 3
    for got, want in zip(per_level, cls):
        assert got is want
    assert manager.get('first') is cls[0]
    assert manager.get('last') is cls[2]


def test_call_and_index_out_of_range(model, x):
    manager = _manager(model,
                       call=dict(source='bbox_head.shared_conv', call=3),
                       index=dict(source='neck', index=5),
                       not_tuple=dict(source='backbone', index=0))
    with manager:
        model(x)
    with pytest.raises(IndexError, match='call=3.*ran 3 time'):
        manager.get('call')
    with pytest.raises(IndexError, match='index=5.*3 item'):
        manager.get('index')
    with pytest.raises(IndexError, match='Tensor'):
        manager.get('not_tuple')


def test_index_with_method_outputs(model, x):
    manager = _manager(model, cls=dict(source='bbox_head.forward', type='method_outputs',
                                       index=0))
    with manager:
        cls, _ = model(x)
    assert manager.get('cls') is cls


def test_index_applies_to_each_call(model, x):
    manager = _manager(model, level=dict(source='neck', index=1))
    with manager:
        model(x)
        model(x)
    levels = manager.get('level')
    assert isinstance(levels, list) and len(levels) == 2
    assert levels[0].shape == (2, 4, 4, 4)


def test_method_wrapping_is_per_instance(x):
    student, teacher = ToyDetector(), ToyDetector()
    recorder = MethodOutputsRecorder('bbox_head.forward')
    recorder.prepare(student)
    recorder.recording = True
    assert 'forward' not in vars(teacher.bbox_head)
    assert Head.forward is Head.__dict__['forward']  # class untouched
    teacher(x)
    assert recorder.num_calls == 0
    student(x)
    assert recorder.num_calls == 1
    recorder.remove()
    assert 'forward' not in vars(student.bbox_head)


def test_two_recorders_on_one_method(model, x):
    manager = _manager(model, a='bbox_head.forward',
                       b=dict(source='bbox_head.forward', type='method_outputs', index=1))
    with manager:
        _, reg = model(x)
    assert manager.get('b') is reg
    assert manager['a'].num_calls == 1
    manager.remove()
    assert 'forward' not in vars(model.bbox_head)


def test_reset_frees_data(model, x):
    manager = _manager(model, neck='neck', head='bbox_head.forward')
    with manager:
        model(x)
    ref = weakref.ref(manager.get('neck')[0])
    head_ref = weakref.ref(manager.get('head')[0][0])
    manager.reset()
    gc.collect()
    assert ref() is None and head_ref() is None
    assert manager['neck'].num_calls == 0


def test_unknown_module_suggests_close_names(model):
    with pytest.raises(KeyError, match=r'ToyDetector.*"nek".*neck'):
        build_recorder('nek', model).prepare(model)
    with pytest.raises(KeyError, match=r'backbone\.0'):
        ModuleOutputsRecorder('backbone.O').prepare(model)
    with pytest.raises(KeyError, match=r'bbox_head'):
        MethodOutputsRecorder('bbox_hed.forward').prepare(model)
    with pytest.raises(KeyError, match=r'forward'):
        MethodOutputsRecorder('bbox_head.forwrd').prepare(model)
    with pytest.raises(KeyError, match='method_outputs'):
        ModuleOutputsRecorder('extract_feat').prepare(model)
    with pytest.raises(KeyError, match='sub-module'):
        MethodOutputsRecorder('bbox_head.shared_conv').prepare(model)


def test_failed_prepare_leaves_no_hooks(model):
    manager = RecorderManager({'ok': ModuleOutputsRecorder('neck'),
                               'bad': ModuleOutputsRecorder('nope')})
    with pytest.raises(KeyError):
        manager.prepare(model)
    assert not model.neck._forward_hooks


def test_whole_model_not_allowed():
    for source in ('', '.'):
        with pytest.raises(ValueError, match='whole model'):
            ModuleOutputsRecorder(source)


def test_build_recorder_specs(model):
    assert type(build_recorder('neck', model)) is ModuleOutputsRecorder
    assert type(build_recorder('bbox_head.forward')) is MethodOutputsRecorder
    assert type(build_recorder('extract_feat', model)) is MethodOutputsRecorder
    assert type(build_recorder('bbox_head.shared_conv', model)) is ModuleOutputsRecorder
    rec = build_recorder(dict(source='neck', index=1, call=0))
    assert type(rec) is ModuleOutputsRecorder and (rec.index, rec.call) == (1, 0)
    assert type(build_recorder(dict(source='neck', type='module_inputs'))) \
        is ModuleInputsRecorder
    assert type(build_recorder(dict(source='neck', type='ModuleInputsRecorder'))) \
        is ModuleInputsRecorder
    with pytest.raises(KeyError, match='module_outputs'):
        build_recorder(dict(source='neck', type='module_output'))
    assert isinstance(MODELS.build(dict(type='kd.MethodOutputsRecorder',
                                        source='extract_feat')), BaseRecorder)


def test_module_names(model):
    manager = RecorderManager({
        'a': build_recorder('neck'),
        'b': build_recorder('backbone.0'),
        'c': build_recorder('bbox_head.forward'),
        'd': build_recorder('extract_feat', model),
    })
    assert manager.module_names() == {'neck', 'backbone', 'bbox_head', 'extract_feat'}


def test_unknown_recorder_name(model):
    manager = _manager(model, neck='neck')
    with pytest.raises(KeyError, match='neck'):
        manager.get('nekc')
