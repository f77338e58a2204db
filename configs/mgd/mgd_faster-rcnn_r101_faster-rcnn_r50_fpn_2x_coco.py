# MGD (Yang et al. ECCV 2022) on COCO: Faster R-CNN R50-FPN student (2x, 38.4 box AP alone) <-
# Faster R-CNN R101-FPN teacher (2x, 39.8 box AP, MMDetection zoo), with the authors' two-stage
# settings (yzd-v/MGD det/configs/distillers/mgd/
# cascade_mask_rcnn_rx101_32x4d_distill_faster_rcnn_r50_fpn_2x_coco.py): one MGDLoss on each of
# P2-P5 (their neck.fpn_convs.0-3; not the max-pooled P6), alpha_mgd=5e-7, lambda_mgd=0.45,
# no student initialisation (that config leaves init_student at False), gradients clipped at 35.
# Published: none for this teacher; the authors' 38.4 -> 42.1 (published, yzd-v/MGD
# det/README.md) used a Cascade Mask R-CNN X101-32x4d-DCN teacher. Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/faster_rcnn_r101_to_r50_2x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck', levels=[0, 1, 2, 3],
            loss=dict(type='MGDLoss', alpha_mgd=5e-7, lambda_mgd=0.45))))

optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
