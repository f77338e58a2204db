# DETRDistillLoss: Hungarian-matched logit and box KD on every decoder layer.
# Two DINO detectors on DigitsDet: the student (dino_student_digits.py: R18
# 1/4 width, 2+2 transformer layers) learns from the teacher
# (dino_teacher_digits.py: R18 1/2 width, 3+3 layers) besides its own losses.
#
# Both sides record `bbox_head.forward`: (cls_scores, bbox_preds) of every
# decoder layer, (layers, N, queries, 10) and (layers, N, queries, 4). In
# training the student's record also holds DINO's denoising queries in front
# of its 30 matching queries; the loss keeps the last `num_queries`. The
# teacher runs in tensor mode (chosen automatically for DETR-family models),
# i.e. in eval mode without denoising queries.
_base_ = ['./dino_student_digits.py']

teacher_ckpt = 'work_dirs/dino_teacher_digits/iter_1500.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::detr_kd/dino_teacher_digits.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 96, 96),
    distill=dict(
        detr=dict(
            student=dict(source='bbox_head.forward', type='method_outputs'),
            teacher=dict(source='bbox_head.forward', type='method_outputs'),
            levelwise=False,          # hand the (cls_scores, bbox_preds) pair over whole
            loss=dict(
                type='DETRDistillLoss',
                num_queries=_base_.model.num_queries,  # the student's matching queries
                score_thr=0.3,        # teacher queries above this become targets
                per_layer=True,       # every student decoder layer, as DINO's aux losses
                unmatched='background',
                loss_weight=1.0))))
