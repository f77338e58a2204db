# The backbone every DigitsDet detector here shares: a width-scaled ResNet-18 for
# 96-px canvases, trained from scratch (no model-zoo weights here), so BN is trained
# (norm_eval=False) and no stage is frozen. Outputs strides 8, 16, 32
# (width * 2, * 4, * 8 channels). A child that changes `width` sets
# `backbone.base_channels` (and its neck's in_channels) too: a child config cannot
# change a value its base already computed.
width = 64      # ResNet base channels (64 = the standard ResNet-18)

model = dict(
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=width,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None))
