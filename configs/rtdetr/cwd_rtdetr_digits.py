# CWD (channel-wise distillation, Shu et al. ICCV 2021) on the hybrid encoder's three
# outputs: tau 1, weight 1 per level (the seed's and MMRazor's values), after the
# seed's normalisation (1x1 conv 128 -> 128 + batch-statistics BN on the student, the
# same BN on the teacher; mimic_rtdetr_digits.py).
_base_ = ['./mimic_rtdetr_digits.py']
model = dict(distill=dict(neck=dict(
    loss=dict(_delete_=True, type='ChannelWiseDivergence', tau=1.0, loss_weight=1.0))))
