"""SingleTeacherDistiller on toy models: teacher handling, records, losses, errors."""
import pytest
import torch
import torch.nn.functional as F

from kd.distillers import SingleTeacherDistiller
from kd.registry import MODELS

from .toy_models import toy_batch, toy_cfg, write_toy_teacher


@pytest.fixture
def teacher_files(tmp_path):
    """A teacher config file and a matching checkpoint."""
    return write_toy_teacher(tmp_path)


def make(teacher_files, distill, **kwargs):
    cfg, ckpt, _ = teacher_files
    return SingleTeacherDistiller(
        student=toy_cfg(width=4, out=8), teacher=dict(config=cfg, checkpoint=ckpt),
        distill=distill, probe_shape=(3, 16, 16), **kwargs)


NECK_CWD = dict(fpn=dict(student='neck', teacher='neck',
                         loss=dict(type='ChannelWiseDivergence', tau=1.0, loss_weight=2.0)))


def test_teacher_loaded_frozen_eval_and_hidden(teacher_files):
    _, _, reference = teacher_files
    model = make(teacher_files, NECK_CWD)
    for k, v in reference.state_dict().items():
        torch.testing.assert_close(model.teacher.state_dict()[k], v)
    model.train()
    assert model.student.training and not model.teacher.training
    assert all(not p.requires_grad for p in model.teacher.parameters())
    assert not any(k.startswith('teacher') for k in model.state_dict())
    own = {id(p) for p in model.parameters()}
    assert not own & {id(p) for p in model.teacher.parameters()}
    # a connector-free CWD entry has no parameters; the student is all there is
    assert set(model.state_dict()) == {f'student.{k}' for k in model.student.state_dict()}


def test_teacher_follows_device_and_dtype(teacher_files):
    model = make(teacher_files, NECK_CWD)
    model.to(torch.float64)
    assert next(model.teacher.parameters()).dtype == torch.float64


def test_losses_logged_and_values_match_formula(teacher_files):
    model = make(teacher_files, NECK_CWD)
    inputs, samples = toy_batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'student.loss_cls', 'student.acc', 'distill.fpn'}
    # independent computation: CWD per neck level, summed over levels
    with torch.no_grad():
        t_feats = model.teacher.extract_feat(inputs)
    s_feats = model.student.extract_feat(inputs)
    expected = 0.
    for s, t in zip(s_feats, t_feats):
        n, c = s.shape[:2]
        p_t = F.softmax(t.reshape(n * c, -1), 1)
        expected = expected + 2.0 * (p_t * (p_t.log() - F.log_softmax(
            s.reshape(n * c, -1), 1))).sum() / (n * c)
    torch.testing.assert_close(losses['distill.fpn'], expected)
    total, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(total, losses['student.loss_cls'] + losses['distill.fpn'])
    assert 'student.acc' in log_vars and log_vars['loss'] == total.detach()


def test_one_loss_module_per_level_unless_shared(teacher_files):
    model = make(teacher_files, NECK_CWD)
    assert len(model.entries['fpn'].losses) == 2
    shared = make(teacher_files, dict(fpn=dict(NECK_CWD['fpn'], share_loss=True)))
    assert len(shared.entries['fpn'].losses) == 1


def test_teacher_runs_only_what_records_need(teacher_files):
    model = make(teacher_files, NECK_CWD)
    assert model.teacher_side.forward_mode == 'extract_feat'
    calls = model.teacher.head.calls
    model.loss(*toy_batch())
    assert model.teacher.head.calls == calls, 'teacher head ran although no record needs it'
    logits = make(teacher_files, dict(kd=dict(student='head', teacher='head',
                                              loss=dict(type='KDLoss', tau=4.0))))
    assert logits.teacher_side.forward_mode == 'head:head'
    backbone = make(teacher_files, dict(b=dict(student='backbone.layer2',
                                               teacher='backbone.layer2',
                                               loss=dict(type='FeatureMSELoss'),
                                               connector=dict(type='ConvConnector'))))
    assert backbone.teacher_side.forward_mode == 'backbone'


def test_kd_on_logits_matches_hinton(teacher_files):
    model = make(teacher_files, dict(kd=dict(student='head', teacher='head',
                                             loss=dict(type='KDLoss', tau=4.0))))
    inputs, samples = toy_batch()
    losses = model.loss(inputs, samples)
    s = model.student(inputs)
    with torch.no_grad():
        t = model.teacher(inputs)
    p = F.softmax(t / 4, 1)
    expected = (p * (p.log() - F.log_softmax(s / 4, 1))).sum(1).mean() * 16
    torch.testing.assert_close(losses['distill.kd'], expected)


def test_connector_channels_inferred_and_trained(teacher_files):
    model = make(teacher_files, dict(b=dict(student='backbone.layer2', teacher='backbone.layer2',
                                            loss=dict(type='FeatureMSELoss'),
                                            connector=dict(type='ConvConnector'))))
    conv = model.entries['b'].connectors[0]
    params = [n for n, _ in model.named_parameters() if n.startswith('entries.b.connectors.')]
    assert params, 'connector parameters must be trained with the student'
    out = conv(torch.zeros(1, 8, 4, 4))
    assert out.shape[1] == 16
    losses = model.loss(*toy_batch())
    losses['distill.b'].backward()
    assert all(p.grad is not None for n, p in model.named_parameters()
               if n.startswith('entries.b.connectors.'))


def test_build_time_probe_leaves_batchnorm_connector_statistics_alone(teacher_files):
    # the probe batch (random noise) runs through the connectors at build time for
    # the channel filling, shape check and trial loss call: in eval mode, so a BN
    # connector starts training from its initial statistics
    model = make(teacher_files, dict(b=dict(student='backbone.layer2', teacher='backbone.layer2',
                                            loss=dict(type='FeatureMSELoss'),
                                            connector=dict(type='ConvConnector', norm='bn'))))
    bn = model.entries['b'].connectors[0].norm
    assert isinstance(bn, torch.nn.BatchNorm2d) and bn.training
    assert int(bn.num_batches_tracked) == 0
    torch.testing.assert_close(bn.running_mean, torch.zeros(16))
    torch.testing.assert_close(bn.running_var, torch.ones(16))
    model.loss(*toy_batch())                  # a training step does update them
    assert int(bn.num_batches_tracked) == 1


def test_tuple_record_without_probe_needs_levels(teacher_files):
    cfg, ckpt, _ = teacher_files
    distill = dict(fpn=dict(student='neck', teacher='neck',
                            loss=dict(type='ChannelWiseDivergence', tau=1.0)))
    model = SingleTeacherDistiller(student=toy_cfg(width=4, out=8),
                                   teacher=dict(config=cfg, checkpoint=ckpt),
                                   distill=distill, probe_shape=None)
    with pytest.raises(ValueError, match=r'"fpn".*levels=\[\.\.\.\]'):
        model.loss(*toy_batch())
    distill['fpn']['levels'] = [0, 1]
    model = SingleTeacherDistiller(student=toy_cfg(width=4, out=8),
                                   teacher=dict(config=cfg, checkpoint=ckpt),
                                   distill=distill, probe_shape=None)
    assert len(model.entries['fpn'].losses) == 2
    assert torch.isfinite(model.loss(*toy_batch())['distill.fpn'])


def test_distill_only_training(teacher_files):
    model = make(teacher_files, NECK_CWD, calculate_student_loss=False)
    losses = model.loss(*toy_batch())
    assert set(losses) == {'distill.fpn'}
    with pytest.raises(ValueError, match='nothing to train'):
        make(teacher_files, {}, calculate_student_loss=False)


def test_predict_runs_student_only(teacher_files):
    model = make(teacher_files, NECK_CWD)
    calls = model.teacher.head.calls
    out = model(*toy_batch(), mode='predict')
    assert len(out) == 4 and model.teacher.head.calls == calls


def test_records_cleared_after_step(teacher_files):
    model = make(teacher_files, NECK_CWD)
    model.loss(*toy_batch())
    for manager in (model.student_recorders, model.teacher_side.recorders):
        for rec in manager.recorders.values():
            assert not rec.recording
            with pytest.raises(RuntimeError):
                rec.get()
    model.eval()
    with torch.no_grad():
        model(*toy_batch(), mode='predict')
    with pytest.raises(RuntimeError):
        model.student_recorders.get('fpn')


def test_input_conversion_between_normalisations(tmp_path):
    cfg = tmp_path / 't.py'
    cfg.write_text("model = dict(type='kd.ToyClassifier', width=8, out=8, "
                   "mean=(10., 20., 30.), std=(2., 4., 8.), bgr_to_rgb=True)\n")
    model = SingleTeacherDistiller(
        student=toy_cfg(mean=(1., 2., 3.), std=(1., 1., 2.)),
        teacher=dict(config=str(cfg), allow_random_init=True), distill=NECK_CWD,
        probe_shape=(3, 8, 8))
    raw = torch.rand(2, 3, 4, 4) * 255
    s_in = (raw - torch.tensor([1., 2., 3.]).view(1, 3, 1, 1)) / torch.tensor(
        [1., 1., 2.]).view(1, 3, 1, 1)
    t_in = (raw.flip(1) - torch.tensor([10., 20., 30.]).view(1, 3, 1, 1)) / torch.tensor(
        [2., 4., 8.]).view(1, 3, 1, 1)
    torch.testing.assert_close(model.teacher_side.inputs(s_in), t_in)


# ------------------------------------------------------------- errors for people
def test_missing_checkpoint_is_an_error(teacher_files):
    cfg, _, _ = teacher_files
    with pytest.raises(ValueError, match='allow_random_init'):
        SingleTeacherDistiller(student=toy_cfg(), teacher=dict(config=cfg), distill=NECK_CWD,
                               probe_shape=(3, 16, 16))


def test_mismatched_checkpoint_names_keys(teacher_files, tmp_path):
    cfg, _, _ = teacher_files
    wrong = tmp_path / 'wrong.pth'
    state = MODELS.build(dict(type='kd.ToyClassifier', width=4, out=8)).state_dict()
    state.pop('head.fc.bias')
    state['extra.weight'] = torch.zeros(1)
    torch.save({'state_dict': state}, wrong)
    with pytest.raises(KeyError) as err:
        SingleTeacherDistiller(student=toy_cfg(), teacher=dict(config=cfg, checkpoint=str(wrong)),
                               distill=NECK_CWD, probe_shape=(3, 16, 16))
    msg = str(err.value)
    assert 'head.fc.bias' in msg and 'extra.weight' in msg and 'shape mismatch' in msg
    assert 'backbone.layer1.weight' in msg


def test_teacher_config_typo(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        SingleTeacherDistiller(student=toy_cfg(), teacher=dict(
            config=str(tmp_path / 'nope.py'), allow_random_init=True), distill=NECK_CWD)


def test_unknown_module_name_suggests(teacher_files):
    with pytest.raises(KeyError) as err:
        make(teacher_files, dict(fpn=dict(student='nek', teacher='neck',
                                          loss=dict(type='ChannelWiseDivergence'))))
    assert 'fpn' in str(err.value) and 'neck' in str(err.value)


def test_shape_mismatch_suggests_connector(teacher_files):
    with pytest.raises(ValueError) as err:
        make(teacher_files, dict(b=dict(student='backbone.layer2', teacher='backbone.layer2',
                                        loss=dict(type='FeatureMSELoss'))))
    msg = str(err.value)
    assert '"b"' in msg and '(2, 8, 4, 4)' in msg and '(2, 16, 4, 4)' in msg
    assert "ConvConnector', in_channels=8, out_channels=16" in msg


def test_level_count_mismatch(teacher_files):
    with pytest.raises(ValueError, match='2 levels'):
        make(teacher_files, dict(x=dict(student='neck', teacher=dict(source='neck', index=1),
                                        loss=dict(type='FeatureMSELoss'))))


def test_loss_that_cannot_take_student_teacher(teacher_files):
    import torch.nn as nn

    @MODELS.register_module(force=True)
    class _OneArgLoss(nn.Module):
        def forward(self, x):
            return x.sum()

    with pytest.raises(TypeError, match='student, teacher'):
        make(teacher_files, dict(x=dict(student='neck', teacher='neck',
                                        loss=dict(type='_OneArgLoss'))))


def test_unknown_loss_argument(teacher_files):
    with pytest.raises(TypeError, match='"fpn".*tua'):
        make(teacher_files, dict(fpn=dict(student='neck', teacher='neck',
                                          loss=dict(type='ChannelWiseDivergence', tua=1.0))))


def test_unknown_entry_key(teacher_files):
    with pytest.raises(KeyError, match='conector'):
        make(teacher_files, dict(fpn=dict(NECK_CWD['fpn'], conector=dict(type='ConvConnector'))))


def test_loss_receives_data_samples_when_declared(teacher_files):
    import torch.nn as nn
    seen = {}

    @MODELS.register_module(force=True)
    class _SamplesLoss(nn.Module):
        def forward(self, student, teacher, data_samples=None):
            seen['n'] = len(data_samples)
            return (student - teacher).abs().mean()

    model = make(teacher_files, dict(x=dict(student='head', teacher='head',
                                            loss=dict(type='_SamplesLoss'))))
    model.loss(*toy_batch(n=4))
    assert seen['n'] == 4


def test_loss_channels_filled_and_shape_check_skipped_for_vid(teacher_files):
    """VID maps 8 student channels to 16 teacher channels itself: no connector needed."""
    model = make(teacher_files, dict(v=dict(student='backbone.layer2', teacher='backbone.layer2',
                                            loss=dict(type='VIDLoss'))))
    vid = model.entries['v'].losses[0]
    assert (vid.in_channels, vid.out_channels) == (8, 16)
    losses = model.loss(*toy_batch())
    assert torch.isfinite(losses['distill.v'])


def test_levelwise_false_passes_whole_records(teacher_files):
    import torch.nn as nn
    seen = {}

    @MODELS.register_module(force=True)
    class _CountLevels(nn.Module):
        shape_check = 'none'

        def forward(self, student, teacher):
            seen['levels'] = (len(student), len(teacher))
            return sum(s.mean() for s in student) * 0

    model = make(teacher_files, dict(x=dict(student='neck', teacher='neck', levelwise=False,
                                            loss=dict(type='_CountLevels'))))
    assert len(model.entries['x'].losses) == 1
    model.loss(*toy_batch())
    assert seen['levels'] == (2, 2)


def test_student_init_from_teacher_copies_matching_tensors(teacher_files, tmp_path):
    """Student width 4 / neck out 8 vs teacher width 8 / out 8: only the head matches."""
    model = make(teacher_files, NECK_CWD, student_init_from_teacher=['head', 'neck'])
    report = model.init_report
    assert sorted(report['copied']) == ['head.fc.bias', 'head.fc.weight',
                                        'neck.lateral.0.bias', 'neck.lateral.1.bias']
    assert any(k.startswith('neck.lateral.0.weight') for k in report['skipped'])
    torch.testing.assert_close(model.student.head.fc.weight, model.teacher.head.fc.weight)
    assert not torch.equal(model.student.neck.lateral[0].weight[:, :4],
                           model.teacher.neck.lateral[0].weight[:, :4])
    with pytest.raises(KeyError, match='no module "nek"'):
        make(teacher_files, NECK_CWD, student_init_from_teacher=['nek'])
    model.init_weights()  # what the Runner does before training
    torch.testing.assert_close(model.student.head.fc.weight, model.teacher.head.fc.weight)


def test_pruned_student_from_model_file(teacher_files, tmp_path):
    """A whole saved (e.g. pruned) module is distilled like a config-built student."""
    import torch.nn as nn
    cfg, ckpt, _ = teacher_files
    pruned = MODELS.build(toy_cfg(width=4, out=8))
    pruned.backbone.layer2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)  # "pruned" 8 -> 6
    pruned.neck.lateral[1] = nn.Conv2d(6, 8, 1)
    path = tmp_path / 'pruned.pth'
    torch.save(pruned, path)
    with pytest.raises(ValueError, match='allow_unsafe_unpickle'):
        SingleTeacherDistiller(student=dict(model_file=str(path)),
                               teacher=dict(config=cfg, checkpoint=ckpt), distill=NECK_CWD)
    model = SingleTeacherDistiller(
        student=dict(model_file=str(path), allow_unsafe_unpickle=True),
        teacher=dict(config=cfg, checkpoint=ckpt), distill=NECK_CWD, probe_shape=(3, 16, 16))
    assert model.student.backbone.layer2.out_channels == 6
    for k, v in pruned.state_dict().items():
        torch.testing.assert_close(model.student.state_dict()[k], v)
    losses = model.loss(*toy_batch())
    assert set(losses) == {'student.loss_cls', 'student.acc', 'distill.fpn'}
    # the exported student is the pruned module's state dict
    from kd.utils.export import student_state_dict
    assert set(student_state_dict(model.state_dict())) == set(pruned.state_dict())


def test_online_teacher_trains_with_the_student(teacher_files):
    cfg, ckpt, _ = teacher_files
    model = SingleTeacherDistiller(
        student=toy_cfg(width=4, out=8),
        teacher=dict(config=cfg, checkpoint=ckpt, trainable=True),
        distill=dict(kd=dict(student='head', teacher='head', loss=dict(type='KDLoss'))),
        probe_shape=(3, 16, 16))
    model.train()
    assert model.teacher.training
    assert any(k.startswith('teacher.') for k in model.state_dict())
    own = {id(p) for p in model.parameters()}
    assert {id(p) for p in model.teacher.parameters()} <= own
    losses = model.loss(*toy_batch())
    assert {'teacher.loss_cls', 'student.loss_cls', 'distill.kd'} <= set(losses)
    total, _ = model.parse_losses(losses)
    torch.testing.assert_close(total, losses['teacher.loss_cls'] + losses['student.loss_cls']
                               + losses['distill.kd'])
    total.backward()
    assert model.teacher.head.fc.weight.grad is not None
    assert model.student.head.fc.weight.grad is not None


def test_nonfinite_loss_raises_with_entry_name(teacher_files):
    model = make(teacher_files, NECK_CWD)
    losses = model.loss(*toy_batch())
    losses['distill.fpn'] = losses['distill.fpn'] * float('nan')
    with pytest.raises(FloatingPointError, match='distill.fpn=nan.*nan_policy'):
        model.parse_losses(losses)
    with pytest.raises(ValueError, match='nan_policy'):
        make(teacher_files, NECK_CWD, nan_policy='ignore')


def test_skip_policy_with_wrapper_leaves_weights_untouched(teacher_files):
    from kd.engine import SkipNonFiniteOptimWrapper
    model = make(teacher_files, NECK_CWD, nan_policy='skip')
    optim = SkipNonFiniteOptimWrapper(torch.optim.AdamW(model.parameters(), lr=0.1,
                                                        weight_decay=0.5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = model.loss(*toy_batch())
    losses['student.loss_cls'] = losses['student.loss_cls'] + float('inf')
    total, _ = model.parse_losses(losses)
    optim.update_params(total)
    assert optim.skipped_steps == 1 and model.nonfinite_steps == 1
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    total, _ = model.parse_losses(model.loss(*toy_batch()))
    optim.update_params(total)           # a finite step updates as usual
    assert not torch.equal(model.student.head.fc.weight, before['student.head.fc.weight'])
