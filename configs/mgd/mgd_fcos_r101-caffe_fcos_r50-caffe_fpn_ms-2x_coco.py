# MGD (Yang et al. ECCV 2022) on COCO: FCOS R50-caffe-FPN student (GN head, multi-scale 2x,
# 38.5 box AP alone) <- FCOS R101-caffe-FPN teacher (same recipe, 40.8 box AP, MMDetection zoo).
# The authors released no FCOS recipe; this one takes their one-stage settings (yzd-v/MGD
# det/configs/distillers/mgd/ retina_rx101_64x4d_distill_retina_r50_fpn_2x_coco.py and
# reppoints_rx101_64x4d_distill_reppoints_r50_fpn_2x_coco.py): one MGDLoss on each of the five
# FPN outputs (P3-P7), alpha_mgd=2e-5, lambda_mgd=0.65, the student's neck and head initialised
# from the teacher (init_student=True; same FPN and head shapes), gradients clipped at 35.
# Published: none for FCOS. Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/fcos_r101_to_r50_caffe_ms_2x.py']

model = dict(
    student_init_from_teacher=['neck', 'bbox_head'],
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',
            loss=dict(type='MGDLoss', alpha_mgd=2e-5, lambda_mgd=0.65))))

optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
