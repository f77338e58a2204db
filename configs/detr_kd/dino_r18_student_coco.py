# Student for the COCO recipe: MMDetection's DINO 4-scale 12-epoch config with a
# ResNet-18 backbone (ImageNet weights from torchvision) instead of ResNet-50;
# transformer, queries (900), schedule and data are unchanged.
_base_ = ['mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py']

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[128, 256, 512]))
