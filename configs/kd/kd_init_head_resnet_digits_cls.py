# Workflow: student initialised from the teacher. KD (tau 4) with the student's classifier
# (head.fc, 64 -> 10 on both) copied from the trained ResNet-20 teacher before training.
_base_ = ['./kd_resnet_digits_cls.py']
model = dict(student_init_from_teacher=['head'])
