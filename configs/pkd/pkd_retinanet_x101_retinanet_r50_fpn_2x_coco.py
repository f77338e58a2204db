# PKD (Cao et al. NeurIPS 2022) on COCO, as MMRazor's pkd_fpn_retina_x101_retina_r50_2x_coco
# (open-mmlab/mmrazor configs/distill/mmdet/pkd/, the authors' release): RetinaNet R50-FPN
# student (2x) <- RetinaNet X101-64x4d-FPN teacher (41.0 box AP, MMDetection zoo), one PKDLoss
# with loss_weight=10 on each of the first four FPN outputs (P3-P6: MMRazor's recipe has the
# four losses loss_pkd_fpn0-3 on neck outputs 0-3, so P7 is not distilled), no student
# initialisation, no gradient clipping. Both FPNs are 256 wide: no connector.
# Published: 37.4 -> 40.8 box AP (MMRazor pkd README and metafile). Needs GPUs and data/coco/.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v2.0/retinanet/'
                'retinanet_x101_64x4d_fpn_1x_coco/'
                'retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py',
                 checkpoint=teacher_ckpt),
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck', levels=[0, 1, 2, 3],
            loss=dict(type='PKDLoss', loss_weight=10.0))))

custom_hooks = [dict(type='kd.StudentCheckpointHook')]
