# The LD student on COCO alone: GFL R18-FPN, 1x (MMDetection's gfl_r50_fpn_1x_coco
# with an ImageNet ResNet-18, FPN inputs 64-512), as the student of
# MMDetection's ld_r18-gflv1-r101_fpn_1x_coco. Published: 35.8 box AP
# (HikariTJU/LD README, GFL R-18 1x).
_base_ = ['mmdet::gfl/gfl_r50_fpn_1x_coco.py']

model = dict(
    backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))
