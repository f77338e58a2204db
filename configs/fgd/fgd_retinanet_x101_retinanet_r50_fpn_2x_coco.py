# FGD (Yang et al. CVPR 2022) on COCO, as the authors' fgd_retina_rx101_64x4d_distill_retina_r50
# recipe: RetinaNet R50-FPN student (2x schedule) <- RetinaNet X101-64x4d-FPN teacher (41.0 mAP),
# all five FPN outputs (P3-P7), the paper's one-stage weights, the student's neck and head
# initialised from the teacher's (the authors' init_student=True), gradients clipped at 35.
# Published: 37.4 -> 40.7 mAP (authors' README). Needs GPUs and data/coco/ (MMDetection layout).
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v2.0/retinanet/'
                'retinanet_x101_64x4d_fpn_1x_coco/'
                'retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py',
                 checkpoint=teacher_ckpt),
    student_init_from_teacher=['neck', 'bbox_head'],
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',   # one FGDLoss (own GcBlocks) per level
            loss=dict(type='FGDLoss', temp=0.5, alpha_fgd=1e-3, beta_fgd=5e-4,
                      gamma_fgd=5e-4, lambda_fgd=5e-6))))

optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
custom_hooks = [dict(type='kd.StudentCheckpointHook')]
