# PKD (Cao et al. NeurIPS 2022) on COCO, as MMRazor's pkd_fpn_faster-rcnn_r101_faster-rcnn_r50_
# 2x_coco (open-mmlab/mmrazor configs/distill/mmdet/pkd/, the authors' release): Faster R-CNN
# R50-FPN student (2x) <- Faster R-CNN R101-FPN teacher (2x, 39.8 box AP, MMDetection zoo), one
# PKDLoss with loss_weight=6 on each of P2-P5 (neck outputs 0-3; not the max-pooled P6), no
# student initialisation, no gradient clipping.
# Published: 38.4 -> 40.3 box AP (MMRazor pkd README; its metafile says 40.4).
# Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/faster_rcnn_r101_to_r50_2x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck', levels=[0, 1, 2, 3],
            loss=dict(type='PKDLoss', loss_weight=6.0))))
