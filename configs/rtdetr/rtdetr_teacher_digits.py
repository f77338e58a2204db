# Teacher of the RT-DETR distillation recipes on DigitsDet: rtdetr_r18vd_digits.py with
# the ResNet-18-vd at half width (32 base channels instead of 16) and 6 decoder layers
# instead of 3 (as RT-DETR-R50), hybrid encoder and decoder at 128 channels (8 heads,
# FFN 512 in AIFI, 256 in the decoder), 30 queries, 30 denoising queries; 5.61 M
# parameters (5,611,666 counted on the built model), 2.0x the student
# (rtdetr_student_digits.py, 2.77 M). Same data, optimiser and 1500-iteration schedule;
# `python tools/train.py configs/rtdetr/rtdetr_teacher_digits.py` writes
# work_dirs/rtdetr_teacher_digits/iter_1500.pth, the checkpoint the recipes load.
_base_ = ['./rtdetr_r18vd_digits.py']
width = 32
dec_layers = 6

model = dict(
    backbone=dict(base_channels=width),
    neck=dict(in_channels=[width * 2, width * 4, width * 8]),
    decoder=dict(num_layers=dec_layers),
    bbox_head=dict(num_pred_layer=dec_layers))
