# FitNets / Mimic (Romero et al. ICLR 2015; Li et al. CVPR 2017) on COCO: FCOS R50-caffe-FPN
# student (GN head, multi-scale 2x, 38.5 box AP alone) <- FCOS R101-caffe-FPN teacher (same
# recipe, 40.8 box AP, MMDetection zoo). A 1x1 conv regressor (ConvConnector) per FPN output
# (P3-P7) and FeatureMSELoss (mean) with loss_weight=1, the FitNet baseline of LutingWang/HEAD
# (configs/kd/fitnet.py); neither paper gives FPN weights. No student initialisation; gradient
# clipping at 35 comes from MMDetection's FCOS config. Published: none for this pair.
# Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/fcos_r101_to_r50_caffe_ms_2x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',
            connector=dict(type='ConvConnector'),
            loss=dict(type='FeatureMSELoss', loss_weight=1.0))))
