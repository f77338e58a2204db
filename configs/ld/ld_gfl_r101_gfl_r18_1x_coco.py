# LD (Zheng et al. CVPR 2022) on COCO, as MMDetection's ld_r18-gflv1-r101_fpn_1x_coco:
# GFL R18-FPN student (1x, SGD 0.01, 8 GPUs x 2 images) <- GFL R101-FPN teacher
# (multi-scale 2x, 44.7 box AP in MMDetection's model zoo). LD on the ATSS positives
# and the valuable localization region, the reference's weights and per-GPU sums.
# Published: 35.8 -> 36.5 box AP (HikariTJU/LD README; MMDetection metafile 36.5).
# Needs GPUs and data/coco/ (MMDetection layout); the tests only build it.
_base_ = ['./gfl_r18_student_coco.py']

# from mmdet/.mim/configs/gfl/metafile.yml (gfl_r101_fpn_ms-2x_coco)
teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v2.0/gfl/'
                'gfl_r101_fpn_mstrain_2x_coco/'
                'gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 256, 256),
    distill=dict(
        ld=dict(
            student=dict(source='bbox_head'),    # (cls_scores, bbox_preds), P3-P7
            teacher=dict(source='bbox_head'),
            levelwise=False,
            loss=dict(
                type='LDLoss',
                anchor_generator=_base_.model.bbox_head.anchor_generator,
                reg_max=_base_.model.bbox_head.reg_max,   # 16
                tau=10.0, topk=9, alpha_vlr=0.25,
                normalize='sum', loss_weight=0.25, vlr_weight=0.25))))

# the hooks and loop of every kd recipe: the student's checkpoint at the end, a check that
# distributed ranks end with the same weights, and the teacher evaluated once beside the
# student (logged as teacher/<metric>; best checkpoints follow the student)
# mmdet's runtime, not kd's (configs/_base_/default_runtime_*.py): the distillation hooks
# and the teacher evaluation are named here
custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]
val_cfg = dict(type='kd.DistillValLoop')
