"""The quickstart configs build and train a few iterations on tiny embedded data."""
import os.path as osp

import pytest
import torch

from kd.apis import build_runner, load_config

pytest.importorskip('mmdet')

DET_CONFIGS = ['configs/baselines/retinanet_student_digits.py',
               'configs/baselines/retinanet_teacher_digits.py']


def _tiny_det_overrides(root, work_dir, iters=2):
    return [
        f'work_dir={work_dir}',
        f'train_dataloader.dataset.data_root={root}/',
        f'val_dataloader.dataset.data_root={root}/',
        f'test_dataloader.dataset.data_root={root}/',
        f'val_evaluator.ann_file={root}/annotations/val.json',
        f'test_evaluator.ann_file={root}/annotations/val.json',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=4', 'val_dataloader.batch_size=8',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        'default_hooks.logger.interval=1', 'param_scheduler=[]',
        'model.test_cfg.score_thr=0.0',  # an untrained model still outputs boxes
    ]


@pytest.mark.parametrize('config', DET_CONFIGS)
def test_det_quickstart_trains_and_evaluates(config, tiny_digits_det, tmp_path):
    cfg = load_config(config, _tiny_det_overrides(tiny_digits_det, tmp_path))
    runner = build_runner(cfg)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed, 'no weight changed during training'
    assert osp.isfile(osp.join(tmp_path, 'iter_2.pth'))
    metrics = runner.val_loop.run()
    assert 'coco/bbox_mAP' in metrics


def test_teacher_is_bigger_than_student():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    from kd.utils.config import resolve_config_path
    register_all_modules()
    sizes = {}
    for path in DET_CONFIGS:
        cfg = Config.fromfile(resolve_config_path(path))
        model = MODELS.build(cfg.model)
        sizes[path] = sum(p.numel() for p in model.parameters())
    assert sizes[DET_CONFIGS[1]] > 3 * sizes[DET_CONFIGS[0]]
