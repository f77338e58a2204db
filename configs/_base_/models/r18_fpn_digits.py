# r18_digits.py plus a three-level FPN (strides 8-32, no extra levels): the
# backbone and neck of the RetinaNet and GFL DigitsDet models. Sizes (`width`,
# `fpn_channels`) are overridden by the students and teachers.
_base_ = ['./r18_digits.py']
fpn_channels = 128

model = dict(
    neck=dict(
        type='FPN',
        in_channels=[_base_.width * 2, _base_.width * 4, _base_.width * 8],
        out_channels=fpn_channels,
        start_level=0,
        add_extra_convs=False,
        num_outs=3))
