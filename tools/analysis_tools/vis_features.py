"""Draw a distiller's teacher and student features of one image, per distill entry and level.

    python tools/analysis_tools/vis_features.py CONFIG [CKPT] IMAGE [--out-dir DIR]
        [--entries fpn ...] [--boxes X1 Y1 X2 Y2 ...] [--ann-file COCO.json]
        [--random-teacher] [--cfg-options KEY=VALUE ...]

CONFIG is a distillation recipe. The distiller is built as ``tools/train.py``
builds it (``kd.apis.load_config``, then the model from the registry), so the
teacher comes from the recipe's teacher config and checkpoint. CKPT is optional:

* a checkpoint of the distiller (``iter_*.pth``/``epoch_*.pth``: ``student.*``,
  ``connectors.*``, ...) loads student, connectors and losses;
* a plain student checkpoint (``student_last.pth``) loads the student only, the
  connectors stay randomly initialised (said so in the output);
* without CKPT the student and connectors are randomly initialised (as at the
  start of training): the teacher's maps are meaningful, the student's are not.

``--random-teacher`` builds the teacher without its checkpoint (a quick look
at shapes, or a recipe whose teacher is not trained yet).

The image: when the config's test pipeline starts with ``LoadImageFromFile``
(MMDetection configs), IMAGE goes through that pipeline exactly as a test image
would (resize, packing; BGR as loaded, converted by the data preprocessor).
Ground-truth boxes, needed only for FGD's foreground mask, come from
``--boxes`` (pixel ``x1 y1 x2 y2`` of IMAGE, several boxes in a row) or are
looked up by file name in ``--ann-file`` (COCO json; default: the test
evaluator's ``ann_file``), and are then loaded by the pipeline's
``LoadAnnotations``. Otherwise (kd's classification configs, whose data sets
hold arrays) IMAGE is read as RGB and resized to the recipe's ``probe_shape``.
Either way the distiller's data preprocessor normalises it.

For every entry and level one PNG is written to ``--out-dir`` (default
``work_dirs/<config name>/feature_vis``): input | teacher | student after
connector | |student - teacher| (+ FGD's foreground mask). Feature maps show
the channel mean of absolute values with one colour scale for teacher and
student; logits and embeddings are drawn as bars (``kd/visualization/feature_maps.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='distillation recipe')
    parser.add_argument('paths', nargs='+', metavar='[CKPT] IMAGE',
                        help='optional distiller (or plain student) checkpoint, then the image')
    parser.add_argument('--out-dir', help='where to write the PNGs')
    parser.add_argument('--entries', nargs='+', help='distill entries to draw (default: all)')
    parser.add_argument('--boxes', type=float, nargs='+', metavar='X1 Y1 X2 Y2',
                        help='ground-truth boxes of IMAGE in pixels (for FGD masks)')
    parser.add_argument('--ann-file', help='COCO json to look IMAGE\'s boxes up in by file '
                        'name (default: the test evaluator\'s ann_file)')
    parser.add_argument('--random-teacher', action='store_true',
                        help='build the teacher without its checkpoint')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    args = parser.parse_args(argv)
    if len(args.paths) > 2:
        parser.error('expected [CKPT] IMAGE')
    args.checkpoint = args.paths[0] if len(args.paths) == 2 else None
    args.image = args.paths[-1]
    if args.boxes is not None and len(args.boxes) % 4:
        parser.error('--boxes takes groups of four numbers x1 y1 x2 y2')
    return args


def build_distiller(cfg, checkpoint=None, random_teacher=False):
    """The recipe's distiller in eval mode, and a line saying where its weights come from."""
    from mmengine.registry import DefaultScope

    from kd.registry import MODELS
    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    if random_teacher:
        for t in [cfg.model.get('teacher')] + list((cfg.model.get('teachers') or {}).values()):
            if isinstance(t, dict):
                t['checkpoint'] = None
                t['allow_random_init'] = True
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'kd')):
        model = MODELS.build(cfg.model)
    if not hasattr(model, 'entries'):
        raise SystemExit(f'{cfg.filename} does not build a kd distiller '
                         f'({type(model).__name__}); give a distillation recipe.')
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # init_weights logs every parameter
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    teacher = 'random teacher' if random_teacher else 'teacher from the recipe\'s checkpoint'
    if checkpoint is None:
        source = f'{teacher}; no checkpoint given: student and connectors randomly initialised'
    else:
        from kd.utils import load_checkpoint_file
        ckpt = load_checkpoint_file(checkpoint)
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
        if any(k.startswith('student.') for k in state):
            missing, unexpected = model.load_state_dict(state, strict=False)
            source = f'{teacher}; distiller checkpoint {checkpoint}'
            if missing or unexpected:
                source += (f' (missing {len(missing)} keys: {missing[:5]}; unexpected '
                           f'{len(unexpected)}: {unexpected[:5]})')
        else:
            model.student.load_state_dict(state, strict=True)
            source = f'{teacher}; plain student checkpoint {checkpoint}'
            if any(True for _ in model.entries.parameters()):
                source += ' (connectors and loss layers randomly initialised)'
    model.eval()
    return model, source


def _coco_boxes(ann_file: str, image: str) -> list:
    with open(ann_file) as f:
        coco = json.load(f)
    name = osp.basename(image)
    ids = {img['id'] for img in coco.get('images', [])
           if osp.basename(img.get('file_name', '')) == name}
    return [[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]]
            for a in coco.get('annotations', []) if a.get('image_id') in ids]


def _test_pipeline(cfg):
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    pipeline = (loader.get('dataset') or {}).get('pipeline') or cfg.get('test_pipeline')
    if pipeline and str(pipeline[0].get('type', '')).endswith('LoadImageFromFile'):
        return list(pipeline)
    return None


def load_batch(cfg, model, image: str, boxes=None, ann_file=None):
    """IMAGE as a preprocessed batch of one: ``(inputs, data_samples, how)``."""
    import torch

    pipeline = _test_pipeline(cfg)
    if pipeline is not None:
        from mmengine.dataset import Compose, pseudo_collate
        from mmengine.registry import DefaultScope
        if boxes is None:
            if ann_file is None:
                evaluator = cfg.get('test_evaluator') or cfg.get('val_evaluator') or {}
                ann_file = evaluator.get('ann_file') if isinstance(evaluator, dict) else None
            if ann_file and osp.isfile(ann_file):
                boxes = _coco_boxes(ann_file, image) or None
        else:
            boxes = [boxes[i:i + 4] for i in range(0, len(boxes), 4)]
        results = dict(img_path=image, img_id=0)
        if boxes:
            results['instances'] = [dict(bbox=list(map(float, b)), bbox_label=0, ignore_flag=0)
                                    for b in boxes]
        else:
            pipeline = [t for t in pipeline if not str(t.get('type', '')).endswith(
                'LoadAnnotations')]
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'kd')):
            data = Compose(pipeline)(results)
        batch = pseudo_collate([data])
        how = (f'the config\'s test pipeline, {len(boxes) if boxes else 0} ground-truth '
               'box(es)')
    else:
        import cv2
        import mmcv
        shape = tuple(cfg.model.get('probe_shape') or (3, 128, 128))
        img = mmcv.imread(image, channel_order='rgb')
        if img is None:
            raise SystemExit(f'cannot read the image {image}')
        img = cv2.resize(img, (int(shape[2]), int(shape[1])), interpolation=cv2.INTER_LINEAR)
        batch = dict(inputs=[torch.from_numpy(img).permute(2, 0, 1).contiguous()],
                     data_samples=None)
        how = f'read as RGB and resized to the probe shape {shape[1]}x{shape[2]}'
    data = model.data_preprocessor(batch, False)
    return data['inputs'], data.get('data_samples'), how


def visualize(config: str, image: str, checkpoint=None, out_dir=None, entries=None, boxes=None,
              ann_file=None, random_teacher=False, cfg_options=()) -> list:
    """Write the PNGs; return ``[(path, FeaturePair), ...]``."""
    from kd.apis import load_config
    from kd.visualization.feature_maps import collect_features, input_to_image, render_pair

    if not osp.isfile(image):
        raise SystemExit(f'image {image} not found')
    cfg = load_config(config, list(cfg_options))
    model, source = build_distiller(cfg, checkpoint, random_teacher)
    inputs, data_samples, how = load_batch(cfg, model, image, boxes, ann_file)
    print(f'weights: {source}')
    print(f'image: {image}, {how}, input {tuple(inputs.shape[1:])}')
    pairs = collect_features(model, inputs, data_samples, entries)
    picture = input_to_image(inputs[0], model.data_preprocessor)
    out_dir = out_dir or osp.join(cfg.work_dir, 'feature_vis')
    os.makedirs(out_dir, exist_ok=True)
    written = []
    from PIL import Image
    for pair in pairs:
        path = osp.join(out_dir, f'{pair.name}.png')
        Image.fromarray(render_pair(pair, picture)).save(path)
        written.append((path, pair))
        notes = f' ({"; ".join(pair.notes)})' if pair.notes else ''
        mask = ', FGD foreground mask' if pair.mask is not None else ''
        print(f'{path}: teacher {tuple(pair.teacher.shape)}, student'
              f'{" after connector" if pair.connector else ""} {tuple(pair.student.shape)}'
              f'{mask}{notes}')
    return written


def main(argv=None) -> list:
    args = parse_args(argv)
    return visualize(args.config, args.image, args.checkpoint, args.out_dir, args.entries,
                     args.boxes, args.ann_file, args.random_teacher, args.cfg_options)


if __name__ == '__main__':
    main()
