# Mimic (FitNets-style MSE, Li et al. CVPR 2017) on the hybrid encoder's three outputs
# (the neck: strides 8/16/32), weight 1 per level, as the seed's FeatureLoss: the
# student's 128-channel maps through a 1x1 conv to 128 channels and a BatchNorm without
# affine or running statistics, the teacher's 128-channel maps through the same
# normalisation (batch statistics per channel), then the loss. RT-DETR 128-d student
# <- RT-DETR R18-vd/2 teacher (see detr_kd_rtdetr_digits.py). The other feature recipes
# (mgd_, cwd_, chsim_, spkd_rtdetr_digits.py) inherit this entry and change the loss.
_base_ = ['./detr_kd_rtdetr_digits.py']

# the feature entry, reused by the logit + feature recipes (detr_kd_*_rtdetr_digits.py)
neck_entry = dict(
    student='neck', teacher='neck',     # RTDETRHybridEncoder: a tuple of 3 levels
    # 128 -> 128 channels (filled by the probe), normalised with the batch's statistics
    connector=dict(type='ConvConnector', kernel_size=1, bias=False, norm='bn_batch'),
    teacher_connector=dict(type='NormConnector', mode='batch'),
    loss=dict(type='FeatureMSELoss', loss_weight=1.0))

model = dict(distill=dict(_delete_=True, neck=neck_entry))
