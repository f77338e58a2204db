# RT-DETR-R18 on COCO with the settings of the official rtdetr_pytorch
# (configs/rtdetr/rtdetr_r18vd_6x_coco.yml). Published (not measured here): 46.5 box
# AP on val2017 (Zhao et al. CVPR 2024, Table 2; the official PyTorch README lists
# 46.4 for its checkpoint rtdetr_r18vd_dec3_6x_coco_from_paddle.pth).
#
# Differences from R50 (rtdetr_r50vd_8xb2-72e_coco.py): ResNet-18-vd with nothing
# frozen and BN trained (freeze_at -1, freeze_norm False), CSP expansion 0.5 in the
# hybrid encoder, 3 decoder layers; data, schedule and optimiser as R50 (the R18
# optimiser groups, backbone lr 1e-5 and no decay on norms/biases, are the same).
_base_ = ['./rtdetr_r50vd_8xb2-72e_coco.py']
dec_layers = 3

model = dict(
    backbone=dict(
        depth=18, frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/rtdetr/presnet18vd_imagenet_kd.pth')),
    neck=dict(in_channels=[128, 256, 512], expansion=0.5),
    decoder=dict(num_layers=dec_layers),
    bbox_head=dict(num_pred_layer=dec_layers))
