# PKD (Cao et al. NeurIPS 2022) on COCO: FCOS R50-caffe-FPN student (GN head, multi-scale 2x,
# 38.5 box AP alone) <- FCOS R101-caffe-FPN teacher (same recipe, 40.8 box AP, MMDetection
# zoo). MMRazor's one-stage PKD recipes (open-mmlab/mmrazor configs/distill/mmdet/pkd/
# pkd_fpn_retina_x101_retina_r50_2x_coco.py, inherited by pkd_fpn_fcos_x101_retina_r50_1x_coco.py
# and pkd_fpn_reppoints_x101-dcn_reppoints_r50_2x_coco.py) give the values: one PKDLoss with
# loss_weight=10 on each of FPN outputs 0-3 (P3-P6), no student initialisation. Gradient
# clipping at 35 comes from MMDetection's FCOS config. Published: none for an FCOS student
# (MMRazor's 40.3 is FCOS X101 -> RetinaNet R50 1x). Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/fcos_r101_to_r50_caffe_ms_2x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck', levels=[0, 1, 2, 3],
            loss=dict(type='PKDLoss', loss_weight=10.0))))
