"""tools/test.py: a distiller checkpoint with the student config, no teacher file, strictness."""
import glob
import importlib.util
import os.path as osp

import pytest
import torch

pytest.importorskip('mmdet')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = 'configs/baselines/retinanet_student_digits.py'
RECIPE = 'configs/cwd/cwd_retinanet_digits.py'


def _tool():
    spec = importlib.util.spec_from_file_location('kd_test_tool',
                                                  osp.join(ROOT, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _student_state() -> dict:
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, STUDENT))
    torch.manual_seed(3)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    return model.state_dict()


def _distiller_checkpoint(path, state):
    full = {f'student.{k}': v for k, v in state.items()}
    full['connectors.fpn.0.conv.weight'] = torch.zeros(64, 32, 1, 1)
    full['connectors.fpn.1.conv.weight'] = torch.zeros(64, 32, 1, 1)
    torch.save({'meta': {'experiment_name': 'cwd_retinanet_digits_test'},
                'state_dict': full}, path)


def _overrides(root, work_dir, test_cfg_key):
    return ['--work-dir', str(work_dir), '--cfg-options',
            f'test_dataloader.dataset.data_root={root}/',
            f'test_evaluator.ann_file={root}/annotations/val.json',
            'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
            'test_dataloader.batch_size=8', f'{test_cfg_key}.score_thr=0.0']


def _run(monkeypatch, config, checkpoint, root, work_dir, key='model.test_cfg'):
    monkeypatch.setattr('sys.argv', ['test.py', config, str(checkpoint)]
                        + _overrides(root, work_dir, key))
    monkeypatch.chdir(ROOT)
    _tool().main()
    logs = glob.glob(osp.join(str(work_dir), '*', '*.log'))
    assert len(logs) == 1
    with open(logs[0]) as f:
        return f.read()


@pytest.fixture(scope='module')
def student_state():
    return _student_state()


def test_distiller_checkpoint_with_student_config_is_unwrapped(
        student_state, tiny_digits_det, tmp_path, monkeypatch, capsys):
    ckpt = tmp_path / 'iter_2.pth'
    _distiller_checkpoint(str(ckpt), student_state)
    log = _run(monkeypatch, STUDENT, ckpt, tiny_digits_det, tmp_path / 'eval')
    n = len(student_state)
    assert f'evaluating its student.* weights ({n} tensors)' in log
    assert 'dropped 2 tensors of the rest (connectors.*: 2)' in log
    assert f'strictly ({n} tensors)' in log
    assert 'unexpected key' not in log   # MMEngine's lenient loader did not run
    assert 'coco/bbox_mAP' in capsys.readouterr().out


def test_recipe_needs_no_teacher_file(student_state, tiny_digits_det, tmp_path, monkeypatch):
    ckpt = tmp_path / 'iter_2.pth'
    _distiller_checkpoint(str(ckpt), student_state)
    argv_teacher = 'model.teacher.checkpoint=/nowhere/teacher.pth'
    monkeypatch.setattr('sys.argv', ['test.py', RECIPE, str(ckpt)] + _overrides(
        tiny_digits_det, tmp_path / 'eval', 'model.student.test_cfg') + [argv_teacher])
    monkeypatch.chdir(ROOT)
    _tool().main()
    log = open(glob.glob(str(tmp_path / 'eval' / '*' / '*.log'))[0]).read()
    assert 'distillation recipe (kd.SingleTeacherDistiller): evaluating its student' in log
    assert 'teacher.pth' not in log
    assert f'strictly ({len(student_state)} tensors)' in log


def test_checkpoint_of_another_model_is_refused(student_state, tiny_digits_det, tmp_path,
                                                monkeypatch):
    state = {k: v for k, v in student_state.items() if not k.startswith('bbox_head.')}
    n_head = len(student_state) - len(state)
    state['extra.weight'] = torch.zeros(1)
    ckpt = tmp_path / 'other.pth'
    torch.save({'state_dict': state}, str(ckpt))
    with pytest.raises(SystemExit) as err:
        _run(monkeypatch, STUDENT, ckpt, tiny_digits_det, tmp_path / 'eval')
    msg = str(err.value)
    assert msg.startswith('error: checkpoint')
    assert f'{n_head} missing keys' in msg and '1 unexpected keys' in msg
    assert 'bbox_head.' in msg and 'extra.weight' in msg
    assert 'Give the config the checkpoint was trained with' in msg
