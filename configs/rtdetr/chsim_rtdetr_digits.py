# ChSim (inter-channel correlation, ICKD, Liu et al. ICCV 2021; kd's ICKDLoss) on the
# hybrid encoder's three outputs, weight 1 per level, after the seed's normalisation
# (1x1 conv 128 -> 128 + batch-statistics BN on the student, the same BN on the
# teacher; mimic_rtdetr_digits.py): row-normalised 128x128 channel Gram matrices,
# squared differences / (N * C) as the reference ICKD code (the seed's ChSimLoss
# divides by N * C * N * N, i.e. weight 1/256 here at batch 16).
_base_ = ['./mimic_rtdetr_digits.py']
model = dict(distill=dict(neck=dict(
    loss=dict(_delete_=True, type='ICKDLoss', loss_weight=1.0))))
