# FGD (Yang et al. CVPR 2022) on COCO, as the authors' fgd_retina_rx101_64x4d_distill_retina_r50
# recipe: RetinaNet R50-FPN student (2x schedule) <- RetinaNet X101-64x4d-FPN teacher (41.0 mAP),
# all five FPN outputs (P3-P7), the paper's one-stage weights, the student's neck and head
# initialised from the teacher's (the authors' init_student=True), gradients clipped at 35.
# Published: 37.4 -> 40.7 mAP (authors' README). Needs GPUs and data/coco/ (MMDetection layout).
_base_ = ['../_base_/coco_pairs/retinanet_x101_to_r50_fpn_2x.py']

model = dict(
    student_init_from_teacher=['neck', 'bbox_head'],
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',   # one FGDLoss (own GcBlocks) per level
            loss=dict(type='FGDLoss', temp=0.5, alpha_fgd=1e-3, beta_fgd=5e-4,
                      gamma_fgd=5e-4, lambda_fgd=5e-6))))

optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
