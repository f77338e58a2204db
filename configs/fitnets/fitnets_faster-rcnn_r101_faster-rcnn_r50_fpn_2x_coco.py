# FitNets / Mimic (Romero et al. ICLR 2015; Li et al. CVPR 2017) on COCO: Faster R-CNN R50-FPN
# student (2x, 38.4 box AP alone) <- Faster R-CNN R101-FPN teacher (2x, 39.8 box AP,
# MMDetection zoo). A 1x1 conv regressor (ConvConnector) per level and FeatureMSELoss (mean)
# with loss_weight=1 (the FitNet baseline of LutingWang/HEAD, configs/kd/fitnet_r18_faster.py),
# here on P2-P5 (levels 0-3, as the FGD recipe; HEAD also covers the max-pooled P6). Neither
# paper gives FPN weights. No student initialisation, no gradient clipping.
# Published: none for this pair. Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/faster_rcnn_r101_to_r50_2x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck', levels=[0, 1, 2, 3],
            connector=dict(type='ConvConnector'),
            loss=dict(type='FeatureMSELoss', loss_weight=1.0))))
