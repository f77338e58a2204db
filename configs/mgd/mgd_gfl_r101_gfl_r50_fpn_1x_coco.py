# MGD (Yang et al. ECCV 2022) on COCO: GFL R50-FPN student (1x, 40.2 box AP alone) <- GFL
# R101-FPN teacher (multi-scale 2x, 44.7 box AP, MMDetection zoo). The authors released no GFL
# recipe; this one takes their one-stage settings (yzd-v/MGD det/configs/distillers/mgd/
# retina_rx101_64x4d_distill_retina_r50_fpn_2x_coco.py): one MGDLoss on each of the five FPN
# outputs (P3-P7), alpha_mgd=2e-5, lambda_mgd=0.65, the student's neck and head initialised from
# the teacher (init_student=True; same FPN and head shapes), gradients clipped at 35.
# Published: none for GFL. Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/gfl_r101_to_r50_1x.py']

model = dict(
    student_init_from_teacher=['neck', 'bbox_head'],
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',
            loss=dict(type='MGDLoss', alpha_mgd=2e-5, lambda_mgd=0.65))))

optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
