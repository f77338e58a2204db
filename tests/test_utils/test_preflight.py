"""Pre-flight checks of tools/train.py: pretrained URLs offline, the resumed teacher.

No test uses the network: reachability and torchvision are given to the checks.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from kd.utils import preflight as pf
from kd.utils.preflight import (
    PreflightError,
    adopt_resumed_teacher_checkpoints,
    check_pretrained_checkpoints,
)

TEACHER_URL = 'https://download.example.org/zoo/teacher_x101-1234abcd.pth'


def _offline(host):
    return False


def _no_network_use(host):
    raise AssertionError(f'the network was asked for ({host})')


def _coco_style_recipe(student_init, **teacher):
    """A distillation recipe shaped like the COCO ones (the student as a dict)."""
    return Config(dict(model=dict(
        type='kd.SingleTeacherDistiller',
        student=dict(type='RetinaNet', backbone=dict(type='ResNet', depth=50,
                                                     init_cfg=student_init)),
        teacher=dict(config='mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py',
                     checkpoint=teacher.get('checkpoint', '/local/teacher.pth'),
                     # a teacher's own init is never run: not checked
                     ),
        distill=dict())))


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    folder = osp.join(str(tmp_path / 'torch'), 'hub', 'checkpoints')
    assert pf.hub_checkpoint_dir() == folder
    return folder


def test_torchvision_init_without_torchvision_says_what_to_do(hub):
    cfg = _coco_style_recipe(dict(type='Pretrained', checkpoint='torchvision://resnet50'))
    with pytest.raises(PreflightError) as err:
        check_pretrained_checkpoints(cfg, reachable=_no_network_use,
                                     has_torchvision=lambda: False)
    msg = str(err.value)
    assert msg.startswith('1 checkpoint(s)')
    assert "model.student.backbone.init_cfg.checkpoint = 'torchvision://resnet50'" in msg
    assert 'not installed' in msg
    minor = int(torch.__version__.split('.')[1])
    assert f"torchvision==0.{minor + 15}.*" in msg   # torch 2.Y <-> torchvision 0.(Y+15)
    assert '--cfg-options model.student.backbone.init_cfg.checkpoint=PATH' in msg
    assert '--cfg-options model.student.backbone.init_cfg=None' in msg
    # MMEngine's table maps the name to this file; a copy in the hub cache is used
    url = 'https://download.pytorch.org/models/resnet50-0676ba61.pth'
    assert url in msg and osp.join(hub, 'resnet50-0676ba61.pth') in msg


def test_cached_files_need_no_network(hub):
    import os
    os.makedirs(hub)
    for name in ('resnet50-0676ba61.pth', osp.basename(TEACHER_URL)):
        open(osp.join(hub, name), 'wb').close()
    cfg = _coco_style_recipe(dict(type='Pretrained', checkpoint='torchvision://resnet50'),
                             checkpoint=TEACHER_URL)
    check_pretrained_checkpoints(cfg, reachable=_no_network_use, has_torchvision=lambda: True)


def test_unreachable_urls_name_key_and_cache(hub):
    cfg = _coco_style_recipe([dict(type='Kaiming'), dict(
        type='Pretrained', checkpoint='https://download.example.org/backbone.pth')],
        checkpoint=TEACHER_URL)
    asked = []
    with pytest.raises(PreflightError) as err:
        check_pretrained_checkpoints(cfg, reachable=lambda h: asked.append(h) or False,
                                     has_torchvision=lambda: False)
    msg = str(err.value)
    assert asked == ['download.example.org'] * 2
    assert msg.startswith('2 checkpoint(s)')
    assert 'model.student.backbone.init_cfg.1.checkpoint' in msg
    assert '--cfg-options model.student.backbone.init_cfg.1=None' in msg
    assert osp.join(hub, 'backbone.pth') in msg
    assert "model.teacher.checkpoint = '" + TEACHER_URL in msg
    assert '--cfg-options model.teacher.checkpoint=PATH' in msg
    assert osp.join(hub, 'teacher_x101-1234abcd.pth') in msg
    assert 'torchvision' not in msg   # not needed for URLs


def test_reachable_host_passes(hub):
    cfg = _coco_style_recipe(dict(type='Pretrained', checkpoint='https://h.example/x.pth'))
    check_pretrained_checkpoints(cfg, reachable=lambda h: h == 'h.example',
                                 has_torchvision=lambda: False)


def test_open_mmlab_names_resolve_through_mmengine(hub):
    from mmengine.runner.checkpoint import get_external_models
    url = get_external_models()['resnext101_64x4d']
    cfg = _coco_style_recipe(dict(type='Pretrained',
                                  checkpoint='open-mmlab://resnext101_64x4d'))
    with pytest.raises(PreflightError) as err:
        check_pretrained_checkpoints(cfg, reachable=_offline, has_torchvision=lambda: True)
    assert url in str(err.value)
    cfg.model.student.backbone.init_cfg.checkpoint = 'open-mmlab://no_such_model'
    with pytest.raises(PreflightError, match='knows no model of that name'):
        check_pretrained_checkpoints(cfg, reachable=_offline, has_torchvision=lambda: True)


def test_missing_local_init_file_and_student_config_file(hub, tmp_path):
    (tmp_path / 'student.py').write_text(
        "model = dict(type='RetinaNet', backbone=dict(type='ResNet', init_cfg=dict("
        "type='Pretrained', checkpoint='torchvision://resnet18')))\n")
    cfg = _coco_style_recipe(None)
    cfg.model.student = dict(config='student.py')
    cfg.model.recipe_dir = str(tmp_path)
    with pytest.raises(PreflightError) as err:
        check_pretrained_checkpoints(cfg, reachable=_offline, has_torchvision=lambda: False)
    msg = str(err.value)
    assert f'model.backbone.init_cfg.checkpoint (in {tmp_path / "student.py"})' in msg
    assert 'edit it there' in msg
    plain = Config(dict(model=dict(type='ResNet', init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'missing.pth')))))
    with pytest.raises(PreflightError, match='model.init_cfg.checkpoint .* the file does not '
                       'exist'):
        check_pretrained_checkpoints(plain, reachable=_offline, has_torchvision=lambda: True)


def test_train_tool_refuses_before_building(monkeypatch, tmp_path, hub):
    """tools/train.py on a COCO-style recipe without torchvision stops before the teacher
    (whose checkpoint does not exist: building it would fail with another error)."""
    import importlib.util
    recipe = tmp_path / 'recipe.py'
    recipe.write_text(
        "_base_ = ['kd::cwd/cwd_retinanet_digits.py']\n"
        "model = dict(student=dict(backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained', "
        "checkpoint='torchvision://resnet18'))),\n"
        "             teacher=dict(checkpoint='/nowhere/teacher.pth'))\n")
    spec = importlib.util.spec_from_file_location(
        'kd_train_tool', osp.join(osp.dirname(__file__), '..', '..', 'tools', 'train.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(pf, 'torchvision_available', lambda: False)
    monkeypatch.setattr(pf, 'host_reachable', _no_network_use)
    monkeypatch.setattr('sys.argv', ['train.py', str(recipe), '--work-dir', str(tmp_path / 'w')])
    with pytest.raises(PreflightError, match='model.student.backbone.init_cfg.checkpoint'):
        tool.main()
    assert not (tmp_path / 'w').exists() or not any((tmp_path / 'w').iterdir())


# ---------------------------------------------------------------------- resume
def _saved_run(work_dir, teacher_ckpt):
    """A checkpoint as MMEngine writes it: meta['cfg'] is the config's pretty_text."""
    first = Config(dict(model=dict(type='kd.SingleTeacherDistiller', student=dict(type='S'),
                                   teacher=dict(config='t.py', checkpoint=teacher_ckpt)),
                        work_dir=str(work_dir)))
    work_dir.mkdir(exist_ok=True)
    ckpt = work_dir / 'iter_4.pth'
    torch.save({'meta': {'cfg': first.pretty_text}, 'state_dict': {}}, str(ckpt))
    (work_dir / 'last_checkpoint').write_text(str(ckpt))
    return str(ckpt)


def _resumed(work_dir, teacher_ckpt, load_from=None):
    return Config(dict(model=dict(type='kd.SingleTeacherDistiller', student=dict(type='S'),
                                  teacher=dict(config='t.py', checkpoint=teacher_ckpt),
                                  recipe_dir=str(work_dir)),
                       work_dir=str(work_dir), resume=True, load_from=load_from))


def test_resume_keeps_the_first_runs_teacher(tmp_path):
    teacher = tmp_path / 'my_teacher.pth'
    teacher.write_bytes(b'x')
    ckpt = _saved_run(tmp_path / 'run', str(teacher))
    for load_from in (None, ckpt):   # --resume, --resume CKPT
        cfg = _resumed(tmp_path / 'run', 'work_dirs/recipe_default/iter_3000.pth', load_from)
        lines = []
        assert adopt_resumed_teacher_checkpoints(cfg, log=lines.append) == [
            'model.teacher.checkpoint']
        assert cfg.model.teacher.checkpoint == str(teacher)
        assert len(lines) == 1 and 'first run' in lines[0] and ckpt in lines[0]


def test_resume_with_another_existing_teacher_warns_and_keeps_it(tmp_path):
    first, second = tmp_path / 'a.pth', tmp_path / 'b.pth'
    first.write_bytes(b'x')
    second.write_bytes(b'y')
    _saved_run(tmp_path / 'run', str(first))
    cfg = _resumed(tmp_path / 'run', str(second))
    lines = []
    assert adopt_resumed_teacher_checkpoints(cfg, log=lines.append) == []
    assert cfg.model.teacher.checkpoint == str(second)
    assert 'WARNING' in lines[0] and f'model.teacher.checkpoint={first}' in lines[0]


def test_no_resume_changes_nothing(tmp_path):
    _saved_run(tmp_path / 'run', str(tmp_path / 'gone.pth'))
    cfg = _resumed(tmp_path / 'run', 'missing.pth')
    cfg.resume = False
    assert adopt_resumed_teacher_checkpoints(cfg, log=_no_network_use) == []
    cfg.resume = True   # the saved teacher is gone too: left to the teacher's own error
    assert adopt_resumed_teacher_checkpoints(cfg, log=_no_network_use) == []
    assert cfg.model.teacher.checkpoint == 'missing.pth'


def test_missing_teacher_file_names_the_key_to_set(tmp_path):
    import torch.nn as nn

    from kd.distillers.builder import load_teacher_weights
    with pytest.raises(FileNotFoundError, match=r'--cfg-options model\.teacher\.checkpoint=PATH'):
        load_teacher_weights(nn.Linear(1, 1), str(tmp_path / 'teacher.pth'))
