# DigitsDet for the YOLOX recipes: YOLOX-tiny's augmentation scaled to the 96-px
# canvases, epoch-based sampling (YOLOXModeSwitchHook switches by epoch).
# MultiImageMixDataset (needed by Mosaic and by the hook, which turns Mosaic and
# RandomAffine off for the last epochs through its skip_type_keys): Mosaic of four
# canvases (192 x 192), RandomAffine cropping it back to 96 x 96 with scale 0.75-1.25
# (digits_det_aug.py's range; YOLOX-tiny's 0.5-1.5 is for COCO) and no rotation or
# shear (6/9, 2/5), HSV jitter; Resize and Pad serve the last epochs. No flips.
_base_ = ['./digits_det.py']

img_scale = (96, 96)
train_pipeline = [
    dict(type='Mosaic', img_scale=img_scale, pad_val=114.0),
    dict(type='RandomAffine', scaling_ratio_range=(0.75, 1.25), max_rotate_degree=0.0,
         max_shear_degree=0.0, border=(-img_scale[0] // 2, -img_scale[1] // 2)),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', pad_to_square=True, pad_val=dict(img=(114.0, 114.0, 114.0))),
    # a digit cut by the mosaic crop leaves a sliver: drop boxes under 3 px
    dict(type='FilterAnnotations', min_gt_bbox_wh=(3, 3), keep_empty=False),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(
            type='kd.DigitsDetDataset',
            data_root='data/digits_det/',
            ann_file='annotations/train.json',
            data_prefix=dict(img='train/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=1),
            pipeline=[dict(type='LoadImageFromFile', backend_args=None),
                      dict(type='LoadAnnotations', with_bbox=True)],
            backend_args=None),
        pipeline=train_pipeline))
