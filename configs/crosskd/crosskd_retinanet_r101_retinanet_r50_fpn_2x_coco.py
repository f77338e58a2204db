# CrossKD on COCO: RetinaNet R50-FPN student (2x) <- RetinaNet R101-FPN teacher (2x), the
# paper's RetinaNet row (published: 37.4 -> 39.7 box AP; not trained here). Head features
# after 3 of the student's 4 convs go through the teacher's 4th conv and output convs; the
# reference's weights: QFL-style KD on scores 1.0 (beta 1), GIoU on the decoded boxes 1.0.
_base_ = ['../_base_/coco_pairs/retinanet_r101_to_r50_fpn_2x.py']

depth = 3
features = dict(type='HeadConvFeaturesRecorder', source='bbox_head', depth=depth)
# the teacher's record keeps its head outputs too: its own predictions come from its
# forward instead of a second run of its head layers in the loss
teacher_features = dict(features, outputs=['retina_cls', 'retina_reg'])
model = dict(distill=dict(crosskd=dict(
    student=features, teacher=teacher_features, levelwise=False, teacher_module='bbox_head',
    loss=dict(type='CrossKDLoss', depth=depth, beta=1.0, loss_cls=1.0, loss_giou=1.0))))
