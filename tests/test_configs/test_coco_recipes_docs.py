"""Every COCO recipe merges, carries the kd hooks and loop, and is listed in the docs."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

pytest.importorskip('mmdet')
import kd  # noqa: E402,F401  (kd:: paths)
from kd.utils.config import resolve_config_path  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(ROOT, 'docs', 'model_zoo_teachers.md')
ROW = re.compile(r'^\| \[`(configs/[^`]+)`\]\(\.\./\1\) \| (?:`([^`]+)`|\[`([^`]+)`\]\(\.\./\3\)) '
                 r'\| `([^`]+)` \| `([^`]+)` \|$')


def _coco_configs():
    out = {}
    for path in sorted(glob.glob(osp.join(ROOT, 'configs', '*', '*_coco.py'))):
        out[osp.relpath(path, ROOT)] = Config.fromfile(path)
    return out


@pytest.fixture(scope='module')
def coco():
    return _coco_configs()


def _is_recipe(cfg):
    return 'Distiller' in str(cfg.model.get('type', ''))


def _doc_rows():
    with open(DOC, encoding='utf-8') as f:
        rows = [ROW.match(line.rstrip('\n')) for line in f]
    return {m.group(1): (m.group(2) or m.group(3), m.group(4), m.group(5))
            for m in rows if m}


def test_every_coco_recipe_has_the_kd_hooks_and_loop(coco):
    recipes = {p: c for p, c in coco.items() if _is_recipe(c)}
    students = sorted(p for p, c in coco.items() if not _is_recipe(c))
    assert len(coco) == 30 and len(recipes) == 26
    assert students == ['configs/detr_kd/dino_r18_student_coco.py',
                        'configs/ld/gfl_r18_student_coco.py',
                        'configs/rtdetr/rtdetr_r18vd_8xb2-72e_coco.py',
                        'configs/rtdetr/rtdetr_r50vd_8xb2-72e_coco.py']
    for path, cfg in recipes.items():
        hooks = [h['type'] for h in cfg.custom_hooks]
        assert 'kd.StudentCheckpointHook' in hooks, path
        assert 'kd.WeightsConsistencyHook' in hooks, path
        assert cfg.val_cfg['type'] == 'kd.DistillValLoop', path


def test_docs_table_lists_every_recipe_as_it_is(coco):
    rows = _doc_rows()
    recipes = {p: c for p, c in coco.items() if _is_recipe(c)}
    assert sorted(rows) == sorted(recipes)
    for path, (student, t_config, t_ckpt) in rows.items():
        cfg = recipes[path]
        assert cfg.model.teacher.config == t_config, path
        assert cfg.model.teacher.checkpoint == t_ckpt, path
        # the listed student config builds exactly the recipe's student
        # (MMEngine marks a model read through an mmdet:: base with _scope_='mmdet')
        listed = Config.fromfile(resolve_config_path(student)).model.to_dict()
        held = cfg.model.student.to_dict()
        listed.pop('_scope_', None)
        held.pop('_scope_', None)
        assert listed == held, path
    with open(DOC, encoding='utf-8') as f:
        assert f'These {len(recipes)} recipes' in f.read()
