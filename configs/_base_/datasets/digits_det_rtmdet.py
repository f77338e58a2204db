# DigitsDet for the RTMDet recipes: RTMDet's two-stage augmentation scaled to the
# 96-px canvases, epoch-based sampling (PipelineSwitchHook switches by epoch).
# Stage 1: CachedMosaic of four canvases (192 x 192), resized by 0.75-1.25 (the range
# digits_det_aug.py keeps for the 5-46 px digits; RTMDet's 0.5-2.0 is for COCO's
# object sizes), a random 96 x 96 crop, HSV jitter. Stage 2 (train_pipeline_stage2,
# the last epochs, selected by PipelineSwitchHook): one canvas, the same resize and
# crop, no mosaic. No flips (a mirrored digit is another symbol) and no MixUp.
_base_ = ['./digits_det.py']

img_scale = (96, 96)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CachedMosaic', img_scale=img_scale, pad_val=114.0, max_cached_images=20,
         random_pop=False),
    dict(type='RandomResize', scale=(192, 192), ratio_range=(0.75, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=img_scale),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    # a digit cut by the crop leaves a sliver: drop boxes under 3 px
    dict(type='FilterAnnotations', min_gt_bbox_wh=(3, 3), keep_empty=False),
    dict(type='PackDetInputs')
]
train_pipeline_stage2 = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=img_scale, ratio_range=(0.75, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=img_scale),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(3, 3), keep_empty=False),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
