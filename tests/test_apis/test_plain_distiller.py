"""kd.apis.Distiller: distillation losses for a hand-written PyTorch loop."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from kd.apis import Distiller


def _net(width, num_classes=10):
    """A torchvision-free toy CNN: names '0'..'6' ('2' is the second conv, '6' the logits)."""
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, num_classes))


def _pair(seed=0):
    torch.manual_seed(seed)
    return _net(4), _net(8)


DISTILL = dict(
    feat=dict(student='2', teacher='2', connector=dict(type='ConvConnector'),
              loss=dict(type='FeatureMSELoss', loss_weight=2.0)),
    logits=dict(student='6', teacher='6', loss=dict(type='KDLoss', tau=4.0, loss_weight=0.9)))


def test_losses_equal_the_hand_computed_losses():
    student, teacher = _pair()
    distiller = Distiller(student, teacher, DISTILL, example_inputs=torch.randn(2, 3, 16, 16))
    x = torch.randn(4, 3, 16, 16)
    with distiller.record():
        logits = student(x)
    losses = distiller.losses()
    assert list(losses) == ['distill.feat', 'distill.logits']

    with torch.no_grad():
        t_feat, t_logits = teacher[:3](x), teacher(x)
    s_feat = student[:3](x)
    connector = distiller.entries['feat'].connectors[0]
    assert (connector.in_channels, connector.out_channels) == (8, 16)   # from the probe
    feat = 2.0 * F.mse_loss(connector(s_feat), t_feat)
    kd = 0.9 * 16 * F.kl_div(F.log_softmax(logits / 4, 1), F.softmax(t_logits / 4, 1),
                             reduction='batchmean')
    torch.testing.assert_close(losses['distill.feat'], feat)
    torch.testing.assert_close(losses['distill.logits'], kd)


def test_gradients_reach_the_student_and_connectors_only():
    student, teacher = _pair()
    distiller = Distiller(student, teacher, DISTILL, example_inputs=torch.randn(2, 3, 16, 16))
    assert not any(p.requires_grad for p in teacher.parameters())
    # the optimizer gets the connectors' parameters; student and teacher are not sub-modules
    names = [n for n, _ in distiller.named_parameters()]
    assert names and all(n.startswith('entries.feat.connectors.') for n in names)
    assert not any(k.startswith(('student', 'teacher')) for k in distiller.state_dict())
    x, y = torch.randn(4, 3, 16, 16), torch.randint(0, 10, (4, ))
    with distiller.record():
        out = student(x)
    loss = F.cross_entropy(out, y) + sum(distiller.losses().values())
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert all(p.grad is not None for p in student.parameters())
    assert all(p.grad is not None for p in distiller.parameters())


def test_a_short_training_loop_reduces_the_distillation_loss():
    student, teacher = _pair()
    distiller = Distiller(student, teacher, DISTILL, example_inputs=torch.randn(2, 3, 16, 16))
    optimizer = torch.optim.SGD([*student.parameters(), *distiller.parameters()], lr=0.05)
    x = torch.randn(8, 3, 16, 16)
    history = []
    for _ in range(15):
        with distiller.record():
            student(x)
        loss = sum(distiller.losses().values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(float(loss))
    assert history[-1] < 0.7 * history[0]


class _YoloLike(nn.Module):
    """A YOLOv5-style model: layers in ``self.model`` (an nn.Sequential) run in a loop."""

    def __init__(self, width):
        super().__init__()
        layers = [nn.Conv2d(3, width, 3, padding=1)] + [nn.ReLU() for _ in range(16)]
        layers.append(nn.Conv2d(width, width, 1))            # model.17
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        for layer in self.model:
            x = layer(x)
        return x


def test_yolov5_style_module_names_and_teacher_calls():
    torch.manual_seed(0)
    student, teacher = _YoloLike(4), _YoloLike(6)
    calls = []
    teacher.register_forward_pre_hook(lambda m, a: calls.append(a[0].shape[0]))
    distiller = Distiller(student, teacher, dict(p3=dict(
        student=dict(source='model.17', call=0), teacher='model.17',
        connector=dict(type='ConvConnector'), loss=dict(type='FeatureMSELoss'))),
        example_inputs=torch.randn(1, 3, 8, 8))
    assert calls == [1]                      # the probe
    x = torch.randn(2, 3, 8, 8)
    with distiller.record():
        student(x)
        student(x[:1])                       # a second call does not rerun the teacher
    assert calls == [2, 1] or calls == [1, 2]
    loss = distiller.losses()['distill.p3']
    calls.clear()
    with torch.no_grad():
        expected = F.mse_loss(distiller.entries['p3'].connectors[0](student(x)), teacher(x))
    torch.testing.assert_close(loss.detach(), expected)
    calls.clear()
    student(x)                               # outside record(): no teacher run, no record
    assert calls == []
    with pytest.raises(RuntimeError, match='record'):
        distiller.losses()


def test_explicit_teacher_input_and_records_are_dropped():
    student, teacher = _pair()
    distiller = Distiller(student, teacher, dict(logits=dict(
        student='6', teacher='6', loss=dict(type='KDLoss', tau=1.0))))   # no probe needed
    x_s, x_t = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    with distiller.record(x_t):
        s_logits = student(x_s)
    loss = distiller.losses()['distill.logits']
    with torch.no_grad():
        t_logits = teacher(x_t)
    expected = F.kl_div(F.log_softmax(s_logits, 1), F.softmax(t_logits, 1),
                        reduction='batchmean')
    torch.testing.assert_close(loss, expected)
    assert distiller.student_recorders['logits'].num_calls == 0   # dropped after losses()
    with pytest.raises(RuntimeError, match='record'):
        distiller.losses()


class _Stages(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.a = nn.Conv2d(3, width, 3, padding=1)
        self.b = nn.Conv2d(width, width, 3, stride=2, padding=1)

    def forward(self, x):
        a = self.a(x).relu()
        return a, self.b(a).relu()


class _TwoStageNet(nn.Module):
    """``stages`` returns a tuple of two feature maps; ``fc`` gives the logits."""

    def __init__(self, width):
        super().__init__()
        self.stages = _Stages(width)
        self.fc = nn.Linear(width, 5)

    def forward(self, x):
        return self.fc(self.stages(x)[-1].mean((2, 3)))


def test_label_losses_tuple_levels_and_schedules():
    torch.manual_seed(0)
    student, teacher = _TwoStageNet(4), _TwoStageNet(6)
    distill = dict(
        dkd=dict(student='fc', teacher='fc', loss=dict(type='DKDLoss', beta=2.0)),
        stages=dict(student='stages', teacher='stages', loss=dict(type='ATLoss'),
                    schedule=dict(type='linear', start=1.0, end=0.0)))
    distiller = Distiller(student, teacher, distill, example_inputs=torch.randn(2, 3, 8, 8))
    assert distiller.entries['stages'].num_levels == 2
    assert len(distiller.entries['stages'].losses) == 2      # one loss per level
    x, y = torch.randn(3, 3, 8, 8), torch.tensor([1, 2, 3])
    with distiller.record():
        student(x)
    with pytest.raises(RuntimeError, match='set_progress'):
        distiller.losses(gt_labels=y)
    distiller.set_progress(iteration=5, max_iters=10)
    with distiller.record():
        student(x)
    with pytest.raises(TypeError, match='gt_label'):
        distiller.losses(gt_label=y)            # a typo is not silently dropped
    with distiller.record():
        student(x)
    losses = distiller.losses(gt_labels=y)
    assert torch.isfinite(losses['distill.dkd'])
    with torch.no_grad():
        pairs = zip(student.stages(x), teacher.stages(x))
        full = sum(distiller.entries['stages'].losses[i](a, b) for i, (a, b) in enumerate(pairs))
    torch.testing.assert_close(losses['distill.stages'].detach(), 0.5 * full)


def test_build_errors_name_the_entry():
    student, teacher = _pair()
    with pytest.raises(KeyError, match='entry "feat".*Closest'):
        Distiller(student, teacher, dict(feat=dict(student='22', teacher='2',
                                                   loss=dict(type='FeatureMSELoss'))))
    with pytest.raises(ValueError, match='ConvConnector'):
        Distiller(student, teacher, dict(feat=dict(student='2', teacher='2',
                                                   loss=dict(type='FeatureMSELoss'))),
                  example_inputs=torch.randn(2, 3, 8, 8))
    with pytest.raises(TypeError, match='example_inputs'):
        Distiller(student, teacher, DISTILL)   # the connector's channels cannot be inferred
    with pytest.raises(TypeError, match='nn.Module'):
        Distiller(student, lambda x: x, DISTILL)
    # a failed build leaves no hook behind
    assert not student[2]._forward_hooks and not teacher[2]._forward_hooks


def test_crd_with_sample_indices_keeps_its_memory_in_the_state_dict():
    torch.manual_seed(0)
    student, teacher = _TwoStageNet(4), _TwoStageNet(6)
    embedding = dict(source='fc', type='module_inputs', index=0)
    distiller = Distiller(student, teacher, dict(crd=dict(
        student=embedding, teacher=embedding,
        loss=dict(type='CRDLoss', num_samples=20, feat_dim=8, nce_k=5))),
        example_inputs=torch.randn(2, 3, 8, 8))
    loss_module = distiller.entries['crd'].losses[0]
    assert (loss_module.in_channels, loss_module.out_channels) == (4, 6)
    assert 'entries.crd.losses.0.memory_student' in distiller.state_dict()
    with distiller.record():
        student(torch.randn(4, 3, 8, 8))
    loss = distiller.losses(sample_idx=torch.tensor([0, 3, 7, 19]))['distill.crd']
    loss.backward()
    assert torch.isfinite(loss) and loss_module.embed_student.weight.grad is not None


def test_probe_errors_name_the_record():
    student, teacher = _pair()
    with pytest.raises(IndexError, match='index=5'):
        Distiller(student, teacher, dict(x=dict(
            student=dict(source='6', type='module_inputs', index=5), teacher='6',
            loss=dict(type='KDLoss'))), example_inputs=torch.randn(2, 3, 8, 8))
    student, teacher = _TwoStageNet(4), _TwoStageNet(4)
    teacher.unused = nn.Identity()                 # exists, but forward never calls it
    with pytest.raises(RuntimeError, match='never ran'):
        Distiller(student, teacher, dict(x=dict(student='fc', teacher='unused',
                                                loss=dict(type='KDLoss'))),
                  example_inputs=torch.randn(2, 3, 8, 8))


def test_api_losses_equal_the_runner_distillers_losses(tmp_path):
    """Same student, teacher, entries and batch: kd.apis.Distiller == SingleTeacherDistiller."""
    from kd.distillers import SingleTeacherDistiller
    from tests.test_distillers.toy_models import toy_batch, toy_cfg, write_toy_teacher
    cfg, ckpt, _ = write_toy_teacher(tmp_path)
    distill = dict(
        fpn=dict(student='neck', teacher='neck', connector=dict(type='ConvConnector'),
                 loss=dict(type='ChannelWiseDivergence', tau=2.0, loss_weight=3.0)),
        logits=dict(student='head', teacher='head', loss=dict(type='KDLoss', tau=4.0)))
    torch.manual_seed(0)
    runner_path = SingleTeacherDistiller(
        student=toy_cfg(width=4, out=4), teacher=dict(config=cfg, checkpoint=ckpt),
        distill=distill, probe_shape=(3, 16, 16))
    api = Distiller(runner_path.student, runner_path.teacher, distill,
                    example_inputs=torch.randn(2, 3, 16, 16))
    api.entries.load_state_dict(runner_path.entries.state_dict())
    inputs, samples = toy_batch()
    runner_path.train()
    expected = runner_path.loss(inputs, samples)
    with api.record():
        runner_path.student(inputs, samples, mode='loss')
    got = api.losses()
    for key in ('distill.fpn', 'distill.logits'):
        torch.testing.assert_close(got[key], expected[key])


class _StudentWithDistillation(nn.Module):
    """The pattern for DDP: one module whose forward runs the student and the losses."""

    def __init__(self, student, distiller):
        super().__init__()
        self.student, self.distiller = student, distiller   # connectors are in distiller

    def forward(self, x):
        with self.distiller.record():
            logits = self.student(x)
        return logits, self.distiller.losses()


def _ddp_train(rank, world, out_dir):
    from torch.nn.parallel import DistributedDataParallel as DDP
    student, teacher = _pair(seed=0)
    distiller = Distiller(student, teacher, DISTILL, example_inputs=torch.randn(2, 3, 16, 16))
    model = DDP(_StudentWithDistillation(student, distiller))
    assert not any(p is q for p in model.parameters() for q in teacher.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(rank)       # each rank its own data
    for _ in range(3):
        x = torch.randn(4, 3, 16, 16, generator=g)
        _, losses = model(x)
        opt.zero_grad()
        sum(losses.values()).backward()           # DDP averages the gradients
        opt.step()
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    torch.save(flat, f'{out_dir}/rank{rank}.pt')
    return model   # kept alive until the process exits (see tests/dist_worker_exit.py)


def test_ddp_example_with_two_cpu_processes(tmp_path):
    import torch.multiprocessing as mp

    from tests.dist_worker_exit import gloo_worker
    mp.spawn(gloo_worker, args=(2, str(tmp_path / 'init'), _ddp_train, str(tmp_path)), nprocs=2,
             join=True)
    a, b = torch.load(tmp_path / 'rank0.pt'), torch.load(tmp_path / 'rank1.pt')
    student, teacher = _pair(seed=0)
    start = torch.cat([p.detach().flatten() for p in student.parameters()])
    assert torch.equal(a, b)                              # ranks stayed in sync
    assert not torch.equal(a[:start.numel()], start)      # and the student trained
