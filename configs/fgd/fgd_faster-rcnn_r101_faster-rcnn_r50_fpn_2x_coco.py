# FGD (Yang et al. CVPR 2022) on COCO, as the authors' fgd_faster_rcnn_r101_fpn_2x_distill_
# faster_rcnn_r50_fpn_2x recipe: Faster R-CNN R50-FPN student (2x) <- Faster R-CNN R101-FPN
# teacher (39.8 mAP), FPN levels P2-P5 (the authors' fpn_convs.0-3; not the max-pooled P6), the
# paper's two-stage weights, the student's neck and heads initialised from the teacher's
# (init_student=True), gradients clipped at 35. Needs GPUs and data/coco/.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py']

teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
                'faster_rcnn_r101_fpn_2x_coco/'
                'faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
                 checkpoint=teacher_ckpt),
    student_init_from_teacher=['neck', 'rpn_head', 'roi_head'],
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck', levels=[0, 1, 2, 3],
            loss=dict(type='FGDLoss', temp=0.5, alpha_fgd=5e-5, beta_fgd=2.5e-5,
                      gamma_fgd=5e-5, lambda_fgd=5e-7))))

optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
custom_hooks = [dict(type='kd.StudentCheckpointHook')]
