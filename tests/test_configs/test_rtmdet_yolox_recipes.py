"""RTMDet/YOLOX DigitsDet student and teacher configs, and the RTMDet COCO recipes."""
from pathlib import Path

import pytest

from kd.apis import build_runner, load_config
from tests.test_configs.test_recipes import _with_random_teacher
from tests.test_hooks.test_student_hooks import _epoch_overrides

pytest.importorskip('mmdet')

PAIRS = {'rtmdet': ('configs/rtmdet_kd/rtmdet_student_digits.py',
                    'configs/rtmdet_kd/rtmdet_teacher_digits.py'),
         'yolox': ('configs/yolox_kd/yolox_student_digits.py',
                   'configs/yolox_kd/yolox_teacher_digits.py')}
COCO = {'configs/rtmdet_kd/cwd_rtmdet_s_rtmdet_tiny_neck_300e_coco.py': ('tiny', 's'),
        'configs/rtmdet_kd/cwd_rtmdet_m_rtmdet_s_neck_300e_coco.py': ('s', 'm'),
        'configs/rtmdet_kd/cwd_rtmdet_l_rtmdet_m_neck_300e_coco.py': ('m', 'l')}


@pytest.mark.parametrize('family', sorted(PAIRS))
def test_plain_student_trains_with_its_hooks_and_teacher_is_bigger(family, tiny_digits_det,
                                                                   tmp_path):
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    student_cfg, teacher_cfg = PAIRS[family]
    opts = [o for o in _epoch_overrides(tiny_digits_det, tmp_path, family == 'yolox')
            if not o.startswith(('model.', 'train_cfg.max_epochs', 'train_cfg.val_interval'))]
    cfg = load_config(student_cfg, opts + ['train_cfg.max_epochs=1', 'train_cfg.val_interval=5'])
    runner = build_runner(cfg)
    runner.train()     # the StudentHook wrappers hand the detector itself to the hooks
    ema = next(h.hook for h in runner.hooks if type(h).__name__ == 'StudentHook'
               and hasattr(h.hook, 'ema_model')).ema_model
    assert type(ema.module) is type(runner.model)
    assert type(runner.model).__name__ == ('RTMDet' if family == 'rtmdet' else 'YOLOX')
    assert (tmp_path / 'epoch_1.pth').is_file()
    sizes = []
    for config in PAIRS[family]:
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = MODELS.build(load_config(config).model)
        sizes.append(sum(p.numel() for p in model.parameters()))
    assert sizes[1] > 3.5 * sizes[0]


def test_digits_pairs_share_strides_and_classes():
    for student_cfg, teacher_cfg in PAIRS.values():
        s = load_config(student_cfg).model.bbox_head
        t = load_config(teacher_cfg).model.bbox_head
        assert s.num_classes == t.num_classes == 10
        assert s.get('strides', s.get('anchor_generator', {}).get('strides')) == \
            t.get('strides', t.get('anchor_generator', {}).get('strides'))


@pytest.mark.parametrize('recipe', sorted(COCO))
def test_rtmdet_coco_recipes_mirror_mmyolo(recipe, tmp_path):
    import mmdet
    import yaml
    student, teacher = COCO[recipe]
    cfg = load_config(recipe)
    meta = Path(mmdet.__file__).parent / '.mim/configs/rtmdet/metafile.yml'
    models = {m['Name']: m for m in yaml.safe_load(meta.read_text())['Models']}
    assert cfg.model.teacher.checkpoint == models[f'rtmdet_{teacher}_8xb32-300e_coco']['Weights']
    assert cfg.model.teacher.config == f'mmdet::rtmdet/rtmdet_{teacher}_8xb32-300e_coco.py'
    assert sorted(cfg.model.distill) == ['fpn0', 'fpn1', 'fpn2']
    assert cfg.model.distill.fpn0.student == 'neck.out_convs.0.conv'
    hooks = [(h.type, h.get('hook', {}).get('type')) for h in cfg.custom_hooks]
    assert hooks[:2] == [('kd.StudentHook', 'EMAHook'), ('kd.StudentHook', 'PipelineSwitchHook')]
    stop = next(h for h in cfg.custom_hooks if h.type == 'kd.StopDistillHook')
    assert stop.stop_epoch == 280 == cfg.custom_hooks[1].hook.switch_epoch
    assert cfg.custom_hooks[0].hook.priority == 49


def test_rtmdet_tiny_coco_recipe_builds(tmp_path):
    from mmengine.registry import DefaultScope

    from kd.registry import MODELS
    cfg = load_config(_with_random_teacher(
        tmp_path, 'configs/rtmdet_kd/cwd_rtmdet_s_rtmdet_tiny_neck_300e_coco.py'))
    with DefaultScope.overwrite_default_scope('mmdet'):
        distiller = MODELS.build(cfg.model)   # no init_weights: nothing is downloaded
    conn = distiller.entries['fpn0'].connectors[0]
    assert (conn.in_channels, conn.out_channels) == (96, 128)   # tiny 96 -> s 128
    assert distiller.student.bbox_head.num_classes == 80
