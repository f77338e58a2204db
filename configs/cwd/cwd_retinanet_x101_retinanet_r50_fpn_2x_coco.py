# CWD (Shu et al. ICCV 2021) on COCO: RetinaNet R50-FPN student (2x schedule) <- RetinaNet
# X101-64x4d-FPN teacher (41.0 box AP, MMDetection model zoo), one ChannelWiseDivergence on each
# of the five FPN outputs (P3-P7) with tau=1 and loss_weight=10 per level, the values of
# MMRazor's FPN recipes (open-mmlab/mmrazor configs/distill/mmdet/cwd/
# cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py, inherited by cwd_fpn_retina_r101_retina_r50_1x_coco.py,
# whose teacher is RetinaNet R101). No student initialisation from the teacher and no gradient
# clipping (neither is in MMRazor's recipe). Both FPNs are 256 wide: no connector.
# Published: +3.4 box AP for RetinaNet R50 on COCO (CWD paper, ICCV 2021 abstract); MMRazor
# publishes no FPN-CWD detection number. Needs GPUs and data/coco/ (MMDetection layout).
_base_ = ['../_base_/coco_pairs/retinanet_x101_to_r50_fpn_2x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',   # one loss per FPN output
            loss=dict(type='ChannelWiseDivergence', tau=1.0, loss_weight=10.0))))
