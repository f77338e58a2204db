# CrossKD (cross-head KD, Wang et al. CVPR 2024): the student's head features after its
# one head conv (pre-activation) go through the teacher's second head conv and output
# convs; those cross-head scores and boxes mimic the teacher's own (QFL-style soft labels
# over the positives, GIoU weighted by the teacher's top score).
# RetinaNet R18/8 student (1 head conv, 16 wide) <- RetinaNet R18/2 teacher (2 head convs,
# 64 wide) on DigitsDet; a 1x1 conv per branch maps the 16 student channels to 64.
# Weights are the reference's COCO values (cls 1, GIoU 1); the loss ratio to the task loss
# with the trained teacher has not been measured yet (configs/crosskd/README.md).
# Train the teacher first: tools/train.py configs/baselines/retinanet_teacher_digits.py
_base_ = ['../baselines/retinanet_student_digits.py']

teacher_ckpt = 'work_dirs/retinanet_teacher_digits/iter_3000.pth'
depth = 1   # head convs of the student that run; the teacher's convs from here on are reused
features = dict(type='HeadConvFeaturesRecorder', source='bbox_head', depth=depth)
# the teacher's record keeps its head outputs too: its own predictions come from its
# forward instead of a second run of its head layers (same loss, less work)
teacher_features = dict(features, outputs=['retina_cls', 'retina_reg'])

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::baselines/retinanet_teacher_digits.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 96, 96),
    distill=dict(
        crosskd=dict(
            student=features, teacher=teacher_features,
            levelwise=False,               # positives and weights span all levels
            teacher_module='bbox_head',    # the loss runs the teacher's head layers
            loss=dict(type='CrossKDLoss', depth=depth, student_channels=_base_.fpn_channels,
                      loss_cls=1.0, loss_giou=1.0))))
