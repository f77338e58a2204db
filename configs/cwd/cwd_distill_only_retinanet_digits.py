# Distillation only: no ground-truth loss at all (calculate_student_loss=False); the student
# learns from the teacher's FPN features (CWD) and dense-head outputs on every canvas.
_base_ = ['./cwd_retinanet_digits.py']
model = dict(
    calculate_student_loss=False,
    distill=dict(cls=dict(student=dict(source='bbox_head', index=0),
                          teacher=dict(source='bbox_head', index=0), levelwise=False,
                          loss=dict(type='DenseHeadKDLoss', tau=1.0, gamma=2.0,
                                    loss_weight=1.0))))
