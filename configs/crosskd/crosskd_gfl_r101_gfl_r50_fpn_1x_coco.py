# CrossKD on COCO: GFL R50-FPN student (1x) <- GFL R101-FPN teacher (multi-scale 2x), the
# paper's main row (published: 40.2 -> 43.7 box AP; not trained here). The student's
# head features after 3 of its 4 convs go through the teacher's 4th conv and output convs
# (the reference's reused_teacher_head_idx=3); the reference's weights: QFL-style KD on
# scores 1.0 (beta 1), KL on the edge distributions 3.0 (T 1), GIoU 2.0.
_base_ = ['../_base_/coco_pairs/gfl_r101_to_r50_1x.py']

depth = 3
features = dict(type='HeadConvFeaturesRecorder', source='bbox_head', depth=depth)
# the teacher's record keeps its head outputs too: its own predictions come from its
# forward instead of a second run of its head layers in the loss
teacher_features = dict(features, outputs=['gfl_cls', 'gfl_reg'])
model = dict(distill=dict(crosskd=dict(
    student=features, teacher=teacher_features, levelwise=False, teacher_module='bbox_head',
    loss=dict(type='CrossKDLoss', depth=depth, beta=1.0, loss_cls=1.0, loss_kl=3.0,
              tau=1.0, loss_giou=2.0))))
