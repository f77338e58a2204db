# CWD (Shu et al. ICCV 2021) on COCO: FCOS R50-caffe-FPN student (GN head, multi-scale 2x, 38.5
# box AP alone in MMDetection's zoo) <- FCOS R101-caffe-FPN teacher (same recipe, 40.8 box AP),
# one ChannelWiseDivergence on each of the five FPN outputs (P3-P7), tau=1, loss_weight=10 per
# level as MMRazor's FPN recipes (open-mmlab/mmrazor configs/distill/mmdet/cwd/
# cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py). Both models take the same caffe-style input
# normalisation. No student initialisation; gradient clipping at 35 comes from MMDetection's
# FCOS config itself. Published: none for FCOS (neither the CWD paper's abstract nor MMRazor).
# Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/fcos_r101_to_r50_caffe_ms_2x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',
            loss=dict(type='ChannelWiseDivergence', tau=1.0, loss_weight=10.0))))
