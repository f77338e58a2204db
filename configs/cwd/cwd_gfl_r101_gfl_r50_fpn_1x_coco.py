# CWD (Shu et al. ICCV 2021) on COCO: GFL R50-FPN student (1x, 40.2 box AP alone) <- GFL
# R101-FPN teacher (multi-scale 2x, 44.7 box AP, MMDetection zoo): the pair of MMRazor's GFL CWD
# recipes (open-mmlab/mmrazor configs/distill/mmdet/cwd/cwd_fpn_gfl_r101_gfl_r50_1x_coco.py).
# One ChannelWiseDivergence on each of the five FPN outputs (P3-P7), tau=1, loss_weight=10 per
# level (cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py, the FPN values). No student initialisation,
# no gradient clipping. Published: none for FPN-CWD on GFL; MMRazor's 40.2 -> 41.9 (published)
# for this pair distils the classification head (cwd_cls_head_gfl_r101_fpn_gfl_r50_fpn_1x_coco),
# not the FPN. Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/gfl_r101_to_r50_1x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',
            loss=dict(type='ChannelWiseDivergence', tau=1.0, loss_weight=10.0))))
