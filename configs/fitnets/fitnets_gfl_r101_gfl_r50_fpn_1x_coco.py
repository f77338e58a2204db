# FitNets / Mimic (Romero et al. ICLR 2015; Li et al. CVPR 2017) on COCO: GFL R50-FPN student
# (1x, 40.2 box AP alone) <- GFL R101-FPN teacher (multi-scale 2x, 44.7 box AP, MMDetection
# zoo). A 1x1 conv regressor (ConvConnector) per FPN output (P3-P7) and FeatureMSELoss (mean)
# with loss_weight=1, the FitNet baseline of LutingWang/HEAD (configs/kd/fitnet.py); neither
# paper gives FPN weights. No student initialisation, no gradient clipping.
# Published: none for this pair. Needs GPUs and data/coco/.
_base_ = ['mmdet::gfl/gfl_r50_fpn_1x_coco.py']

teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v2.0/gfl/'
                'gfl_r101_fpn_mstrain_2x_coco/'
                'gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py', checkpoint=teacher_ckpt),
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',
            connector=dict(type='ConvConnector'),
            loss=dict(type='FeatureMSELoss', loss_weight=1.0))))

custom_hooks = [dict(type='kd.StudentCheckpointHook')]
