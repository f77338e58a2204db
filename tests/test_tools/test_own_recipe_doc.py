"""docs/own_recipe.md runs: its files are written outside the repository and trained."""
import os
import os.path as osp
import re
import shutil

import pytest

from kd.apis import build_runner, load_config

pytest.importorskip('mmdet')

DOC = osp.join(osp.dirname(__file__), '..', '..', 'docs', 'own_recipe.md')


def doc_files() -> dict:
    """``{relative path: text}`` of the blocks marked ``<!-- file: PATH -->``."""
    text = open(DOC).read()
    blocks = re.findall(r'<!-- file: (\S+) -->\s*```python\n(.*?)```', text, re.S)
    return dict(blocks)


def _short(work_dir, root=None, model='model'):
    opts = [f'work_dir={work_dir}', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'train_dataloader.batch_size=4', 'val_dataloader.batch_size=8',
            'default_hooks.logger.interval=1', 'param_scheduler=[]',
            f'{model}.test_cfg.score_thr=0.0']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
        if root is not None:
            opts.append(f'{loader}.dataset.data_root={root}/')
    if root is not None:
        opts += [f'val_evaluator.ann_file={root}/annotations/val.json',
                 f'test_evaluator.ann_file={root}/annotations/val.json']
    return opts


def test_the_doc_shows_the_trap_and_the_files():
    files = doc_files()
    assert set(files) == {'my_project/student.py', 'my_project/teacher.py',
                          'my_project/cwd.py', 'my_project/student_coco.py'}
    assert 'Duplicate key is not allowed among bases' in open(DOC).read()


def test_duplicate_key_trap_is_what_the_doc_says(tmp_path):
    from mmengine.config import Config
    bad = tmp_path / 'bad.py'
    bad.write_text("_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',\n"
                   "          'kd::_base_/datasets/digits_det.py']\n")
    import kd  # noqa: F401  (kd:: paths)
    with pytest.raises(Exception, match='Duplicate key is not allowed among bases'):
        Config.fromfile(str(bad))


def test_own_student_teacher_recipe_and_coco_folder_train(tiny_digits_det, tmp_path,
                                                          monkeypatch):
    for rel, text in doc_files().items():
        os.makedirs(tmp_path / osp.dirname(rel), exist_ok=True)
        (tmp_path / rel).write_text(text)
    monkeypatch.chdir(tmp_path)
    metrics = {}
    for name in ('student', 'teacher'):
        runner = build_runner(load_config(f'my_project/{name}.py',
                                          _short(f'work_dirs/{name}', tiny_digits_det)))
        runner.train()
        metrics[name] = runner.val_loop.run()
        assert osp.isfile(f'work_dirs/{name}/iter_2.pth')
    assert 'coco/bbox_mAP' in metrics['student']
    # the teacher is wider than the student
    student = load_config('my_project/student.py').model
    teacher = load_config('my_project/teacher.py').model
    assert teacher.neck.out_channels == 2 * student.neck.out_channels

    # the recipe, with the teacher trained above
    runner = build_runner(load_config('my_project/cwd.py', _short('work_dirs/cwd', tiny_digits_det,
                                                             'model.student')
                                      + ['model.teacher.checkpoint=work_dirs/teacher/iter_2.pth']))
    assert type(runner.model).__name__ == 'SingleTeacherDistiller'
    runner.train()
    assert osp.isfile('work_dirs/cwd/student_last.pth')

    # the COCO-format folder: a copy of the canvases at the doc's path
    shutil.copytree(tiny_digits_det, 'my_data')
    cfg = load_config('my_project/student_coco.py', _short('work_dirs/student_coco'))
    assert cfg.train_dataloader.dataset.type == 'CocoDataset'
    runner = build_runner(cfg)
    runner.train()
    assert 'coco/bbox_mAP' in runner.val_loop.run()
