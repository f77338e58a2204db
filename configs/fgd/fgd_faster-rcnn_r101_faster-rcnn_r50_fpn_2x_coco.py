# FGD (Yang et al. CVPR 2022) on COCO, as the authors' fgd_faster_rcnn_r101_fpn_2x_distill_
# faster_rcnn_r50_fpn_2x recipe: Faster R-CNN R50-FPN student (2x) <- Faster R-CNN R101-FPN
# teacher (39.8 mAP), FPN levels P2-P5 (the authors' fpn_convs.0-3; not the max-pooled P6), the
# paper's two-stage weights, the student's neck and heads initialised from the teacher's
# (init_student=True), gradients clipped at 35. Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/faster_rcnn_r101_to_r50_2x.py']

model = dict(
    student_init_from_teacher=['neck', 'rpn_head', 'roi_head'],
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck', levels=[0, 1, 2, 3],
            loss=dict(type='FGDLoss', temp=0.5, alpha_fgd=5e-5, beta_fgd=2.5e-5,
                      gamma_fgd=5e-5, lambda_fgd=5e-7))))

optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
