# PKD (Cao et al. NeurIPS 2022) on COCO: GFL R50-FPN student (1x, 40.2 box AP alone) <- GFL
# R101-FPN teacher (multi-scale 2x, 44.7 box AP, MMDetection zoo), with the values of MMRazor's
# one-stage PKD recipes (open-mmlab/mmrazor configs/distill/mmdet/pkd/
# pkd_fpn_retina_x101_retina_r50_2x_coco.py): one PKDLoss with loss_weight=10 on each of FPN
# outputs 0-3 (P3-P6), no student initialisation, no gradient clipping.
# Published: none for GFL. Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/gfl_r101_to_r50_1x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck', levels=[0, 1, 2, 3],
            loss=dict(type='PKDLoss', loss_weight=10.0))))
