"""The quickstart teacher's stabilisers: augmentation, EMA weights, and their checkpoint.

The teacher is saved with weight EMA (MMEngine's EMAHook): the checkpoint's
``state_dict`` must hold the averaged weights, and a distillation recipe must
load exactly those as its teacher.
"""
import os.path as osp

import numpy as np
import pytest
import torch

from kd.apis import build_runner, load_config

pytest.importorskip('mmdet')

from tests.test_configs.test_quickstart import _tiny_det_overrides  # noqa: E402

TEACHER = 'configs/baselines/retinanet_teacher_digits.py'
CWD = 'configs/cwd/cwd_retinanet_digits.py'


def test_teacher_checkpoint_holds_ema_weights_and_distiller_loads_them(
        tiny_digits_det, tmp_path):
    work = tmp_path / 'teacher'
    cfg = load_config(TEACHER, _tiny_det_overrides(tiny_digits_det, work, iters=3))
    runner = build_runner(cfg)
    runner.train()
    ckpt = torch.load(osp.join(work, 'iter_3.pth'), map_location='cpu', weights_only=False)
    assert 'ema_state_dict' in ckpt
    # EMAHook swaps the two at save time: state_dict = average, ema_state_dict = raw
    raw = {k[len('module.'):]: v for k, v in ckpt['ema_state_dict'].items()
           if k.startswith('module.')}
    key = 'bbox_head.retina_cls.weight'
    averaged = ckpt['state_dict'][key]
    assert not torch.equal(averaged, raw[key]), 'the saved weights are not the average'

    overrides = [o for o in _tiny_det_overrides(tiny_digits_det, tmp_path / 'cwd', iters=1)
                 if not o.startswith('model.test_cfg')]   # a student setting, not the distiller's
    overrides.append(f'model.teacher.checkpoint={osp.join(work, "iter_3.pth")}')
    distiller = build_runner(load_config(CWD, overrides)).model
    teacher_state = {k: v for k, v in _teacher(distiller).state_dict().items()}
    assert torch.equal(teacher_state[key], averaged)


def _teacher(distiller):
    teacher = getattr(distiller, 'teacher', None)
    if isinstance(teacher, torch.nn.Module) and hasattr(teacher, 'bbox_head'):
        return teacher
    return getattr(teacher, 'model', teacher)  # a Teacher component wrapping the model


def test_augmented_pipeline_keeps_boxes_on_the_canvas(tiny_digits_det):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = load_config(TEACHER, [f'train_dataloader.dataset.data_root={tiny_digits_det}/'])
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'RandomAffine' in types and 'RandomFlip' not in types
    scales = []
    for index in range(8):
        raw = dataset.get_data_info(index)
        raw_sizes = np.array([(b['bbox'][2] - b['bbox'][0]) for b in raw['instances']])
        item = dataset[index]
        img = item['inputs']
        assert tuple(img.shape[1:]) == (96, 96)
        boxes = item['data_samples'].gt_instances.bboxes.tensor
        assert len(boxes) >= 1
        assert boxes.min() >= 0 and boxes.max() <= 96
        assert ((boxes[:, 2] - boxes[:, 0]) >= 3).all() and ((boxes[:, 3] - boxes[:, 1]) >= 3).all()
        scales.append(float((boxes[:, 2] - boxes[:, 0]).max()) / float(raw_sizes.max()))
    # digits are rescaled by 0.75-1.25 (a digit cut by the border may shrink more)
    assert max(scales) <= 1.25 + 1e-3
    assert len(set(round(s, 3) for s in scales)) > 1, 'every canvas kept its scale'
