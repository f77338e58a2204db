# CWD (Shu et al. ICCV 2021) on COCO: Faster R-CNN R50-FPN student (2x, 38.4 box AP alone) <-
# Faster R-CNN R101-FPN teacher (2x, 39.8 box AP, MMDetection zoo), the pair of MMRazor's
# cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py (open-mmlab/mmrazor configs/distill/mmdet/cwd/), with
# its tau=1 and loss_weight=10 per level, here on P2-P5 (levels 0-3, as the FGD recipe; MMRazor
# also puts a loss on the fifth output, P6, a max-pool of P5). No student initialisation, no
# gradient clipping (neither in MMRazor's recipe). Published: none (MMRazor lists no result for
# this config). Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/faster_rcnn_r101_to_r50_2x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck', levels=[0, 1, 2, 3],
            loss=dict(type='ChannelWiseDivergence', tau=1.0, loss_weight=10.0))))
