"""DistillEntry modules (state layout, old checkpoints), the pairs API and the teacher side."""
import pytest
import torch
import torch.nn.functional as F

from kd.apis import Distiller
from kd.distillers import DistillEntry, SingleTeacherDistiller
from kd.distillers.teachers import FrozenTeacher, Teacher

from .toy_models import toy_batch, toy_cfg, write_toy_teacher

# A CWD entry on the two neck levels with a BatchNorm ConvConnector, and a logits entry
# with a teacher-side LinearConnector and a loss with parameters (VID).
DISTILL = dict(
    fpn=dict(student='neck', teacher='neck',
             connector=dict(type='ConvConnector', norm='bn'),
             loss=dict(type='ChannelWiseDivergence', tau=1.0)),
    logits=dict(student='head', teacher='head', teacher_connector=dict(type='LinearConnector'),
                loss=dict(type='KDLoss')),
    v=dict(student='backbone.layer2', teacher='backbone.layer2', loss=dict(type='VIDLoss')))

# The state-dict keys the distillers wrote before one DistillEntry per pair existed
# (recorded from the previous code: three parallel ModuleDicts keyed by entry name).
OLD_KEYS = [f'connectors.fpn.{i}.{name}' for i in (0, 1) for name in (
    'conv.weight', 'conv.bias', 'norm.weight', 'norm.bias', 'norm.running_mean',
    'norm.running_var', 'norm.num_batches_tracked')] + [
    'teacher_connectors.logits.0.linear.weight', 'teacher_connectors.logits.0.linear.bias',
    'distill_losses.v.0.regressor.0.weight', 'distill_losses.v.0.regressor.2.weight',
    'distill_losses.v.0.regressor.4.weight', 'distill_losses.v.0.log_scale']


@pytest.fixture
def teacher_files(tmp_path):
    return write_toy_teacher(tmp_path)


def make(teacher_files, distill=DISTILL, **teacher):
    cfg, ckpt, _ = teacher_files
    return SingleTeacherDistiller(
        student=toy_cfg(width=4, out=8), teacher=dict(config=cfg, checkpoint=ckpt, **teacher),
        distill=distill, probe_shape=(3, 16, 16))


def _new_name(old):
    """The old <container>.<name>.<rest> -> entries.<name>.<attribute>.<rest>."""
    container, name, rest = old.split('.', 2)
    return f'entries.{name}.{dict(distill_losses="losses").get(container, container)}.{rest}'


def test_one_module_per_entry_in_one_module_dict(teacher_files):
    model = make(teacher_files)
    assert isinstance(model.entries, torch.nn.ModuleDict)
    assert all(isinstance(e, DistillEntry) for e in model.entries.values())
    assert model.entries['fpn'].num_levels == 2 and len(model.entries['fpn'].connectors) == 2
    assert model.entries['logits'].connectors is None
    keys = [k for k in model.state_dict() if not k.startswith('student.')]
    assert all(k.startswith('entries.') for k in keys)
    assert sorted(keys) == sorted(_new_name(k) for k in OLD_KEYS)


def test_a_checkpoint_in_the_old_key_layout_loads_with_equal_tensors(teacher_files, tmp_path):
    model = make(teacher_files)
    gen = torch.Generator().manual_seed(3)
    own = model.state_dict()
    # the old checkpoint, written by hand with the old key names
    old = {k: v.clone() for k, v in own.items() if k.startswith('student.')}
    for key in OLD_KEYS:
        like = own[_new_name(key)]
        old[key] = torch.randn(like.shape, generator=gen) if like.is_floating_point() \
            else torch.randint(1, 50, like.shape, generator=gen).to(like.dtype)
    path = tmp_path / 'old_layout.pth'
    torch.save({'state_dict': old, 'meta': {}}, path)

    fresh = make(teacher_files)
    from mmengine.runner import load_checkpoint
    load_checkpoint(fresh, str(path), strict=True)      # as --resume / --load-from do
    loaded = fresh.state_dict()
    for key in OLD_KEYS:
        assert torch.equal(loaded[_new_name(key)], old[key]), key
    # torch's own load_state_dict renames the same way, strictly
    again = make(teacher_files)
    assert not again.load_state_dict(old, strict=True).missing_keys
    assert torch.equal(again.entries['v'].losses[0].log_scale, old['distill_losses.v.0.log_scale'])


def test_the_plain_api_uses_the_same_entries_and_loads_old_keys():
    student = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    teacher = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.ReLU())
    api = Distiller(student, teacher, dict(f=dict(student='0', teacher='0',
                                                  connector=dict(type='ConvConnector'),
                                                  loss=dict(type='FeatureMSELoss'))),
                    example_inputs=torch.randn(2, 3, 8, 8))
    assert isinstance(api.entries['f'], DistillEntry)
    old = {'connectors.f.0.conv.weight': torch.full((6, 4, 1, 1), 0.25),
           'connectors.f.0.conv.bias': torch.arange(6.)}
    api.load_state_dict(old, strict=True)
    assert torch.equal(api.entries['f'].connectors[0].conv.bias, torch.arange(6.))
    x = torch.randn(2, 3, 8, 8)
    with api.record():
        student(x)
    (s, t), = api.pairs()['f']
    with torch.no_grad():
        expected_s = F.conv2d(student[0](x), old['connectors.f.0.conv.weight'],
                              old['connectors.f.0.conv.bias'])
        torch.testing.assert_close(s, expected_s)
        torch.testing.assert_close(t, teacher[0](x))
    torch.testing.assert_close(api.losses()['distill.f'], F.mse_loss(s, t))


def test_compute_pairs_are_what_the_loss_compares(teacher_files):
    model = make(teacher_files)
    model.eval()   # BatchNorm connector: running statistics on both paths
    inputs, samples = toy_batch()
    with torch.no_grad():
        pairs = model.compute_pairs(inputs, samples, entries=['fpn', 'logits'])
        t_feats = model.teacher.extract_feat(inputs)
        s_feats = model.student.extract_feat(inputs)
        for i, (s, t) in enumerate(pairs['fpn']):
            torch.testing.assert_close(t, t_feats[i])
            torch.testing.assert_close(s, model.entries['fpn'].connectors[i](s_feats[i]))
        (s_logits, t_logits), = pairs['logits']
        lin = model.entries['logits'].teacher_connectors[0].linear
        torch.testing.assert_close(t_logits, lin(model.teacher(inputs)))
        torch.testing.assert_close(s_logits, model.student(inputs))
        losses = model.loss(inputs, samples)
    expected = sum(model.entries['fpn'].loss_at(i)(s, t) for i, (s, t) in enumerate(pairs['fpn']))
    torch.testing.assert_close(losses['distill.fpn'], expected)
    with pytest.raises(KeyError, match='unknown distill entries'):
        model.compute_pairs(inputs, samples, entries=['nope'])


def test_teacher_side_is_one_component(teacher_files):
    model = make(teacher_files)
    assert isinstance(model.teacher_side, FrozenTeacher) and isinstance(model.teacher_side, Teacher)
    assert model.teacher_side.models() == {'teacher': model.teacher}
    assert model.teacher_side.hidden_models() == [model.teacher]


def test_teacher_input_size_feeds_the_teacher_a_resized_batch(teacher_files):
    logits = dict(kd=dict(student='head', teacher='head', loss=dict(type='KDLoss', tau=2.0)))
    model = make(teacher_files, logits, input_size=(24, 20))
    seen = []
    inputs, samples = toy_batch(size=16)
    handle = model.teacher.backbone.register_forward_pre_hook(
        lambda m, a: seen.append(tuple(a[0].shape)))
    losses = model.loss(inputs, samples)
    handle.remove()
    assert seen == [(4, 3, 24, 20)]
    resized = F.interpolate(inputs, size=(24, 20), mode='bilinear', align_corners=False)
    with torch.no_grad():
        t = model.teacher(resized)
        s = model.student(inputs)
    expected = model.entries['kd'].losses[0](s, t)
    torch.testing.assert_close(losses['distill.kd'], expected)
    with pytest.raises(ValueError, match='input_size must be'):
        make(teacher_files, logits, input_size=(24, ))
