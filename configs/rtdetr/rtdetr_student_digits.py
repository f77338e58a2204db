# Student of the RT-DETR distillation recipes on DigitsDet: rtdetr_r18vd_digits.py as it
# is, i.e. ResNet-18-vd at 16 base channels, a 128-d hybrid encoder and decoder, 3 decoder
# layers, 30 queries, 30 denoising queries; 2.77 M parameters, half the teacher's
# (rtdetr_teacher_digits.py: 32 base channels, 6 decoder layers, 5.61 M). Same data,
# optimiser and 1500-iteration schedule. Its neck gives 128-channel maps at strides
# 8/16/32 (12x12, 6x6, 3x3): the "encoder features" of the feature recipes.
# A 64-d encoder/decoder student (1.31 M) was tried first and reached 10.5 mAP50-95 at
# seed 0 (6.8 with 4 attention heads instead of 8): too weak to be worth distilling
# (configs/rtdetr/README.md, "The student").
_base_ = ['./rtdetr_r18vd_digits.py']
