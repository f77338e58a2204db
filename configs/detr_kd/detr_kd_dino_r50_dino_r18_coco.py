# DETRDistillLoss on COCO: DINO-4scale R50 (12 epochs, 49.0 box AP in
# MMDetection's model zoo) teaches DINO-4scale R18 (dino_r18_student_coco.py).
# Same 12-epoch schedule, 8 GPUs x 2 images, as the mmdet config. Not run here
# (no GPU, no COCO); tests/test_configs/test_detr_recipe.py builds it.
_base_ = ['./dino_r18_student_coco.py']

# from mmdet/.mim/configs/dino/metafile.yml (dino-4scale_r50_8xb2-12e_coco)
teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v3.0/dino/'
                'dino-4scale_r50_8xb2-12e_coco/'
                'dino-4scale_r50_8xb2-12e_coco_20221202_182705-55b2bba2.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', checkpoint=teacher_ckpt),
    # two-stage DINO picks 900 encoder proposals, so the probe image must give
    # at least 900 tokens over the 4 levels (256 px: 32^2 + 16^2 + 8^2 + 4^2)
    probe_shape=(3, 256, 256),
    distill=dict(
        detr=dict(
            student=dict(source='bbox_head.forward', type='method_outputs'),
            teacher=dict(source='bbox_head.forward', type='method_outputs'),
            levelwise=False,
            loss=dict(
                type='DETRDistillLoss',
                num_queries=_base_.model.num_queries,  # 900; denoising queries come first
                score_thr=0.3,
                topk=100,
                per_layer=True,
                loss_weight=1.0))))

# mmdet's runtime, not kd's (configs/_base_/default_runtime_*.py): the distillation hooks
# and the teacher evaluation are named here
custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]
val_cfg = dict(type='kd.DistillValLoop')
