# FitNets / Mimic (Romero et al. ICLR 2015; Li et al. CVPR 2017) on COCO: GFL R50-FPN student
# (1x, 40.2 box AP alone) <- GFL R101-FPN teacher (multi-scale 2x, 44.7 box AP, MMDetection
# zoo). A 1x1 conv regressor (ConvConnector) per FPN output (P3-P7) and FeatureMSELoss (mean)
# with loss_weight=1, the FitNet baseline of LutingWang/HEAD (configs/kd/fitnet.py); neither
# paper gives FPN weights. No student initialisation, no gradient clipping.
# Published: none for this pair. Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/gfl_r101_to_r50_1x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',
            connector=dict(type='ConvConnector'),
            loss=dict(type='FeatureMSELoss', loss_weight=1.0))))
