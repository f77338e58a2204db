# SPKD (similarity-preserving KD, Tung & Mori ICCV 2019; kd's SPKDLoss) on the hybrid
# encoder's three outputs, after the seed's normalisation (1x1 conv 128 -> 128 +
# batch-statistics BN on the student, the same BN on the teacher;
# mimic_rtdetr_digits.py): row-normalised N x N sample Gram matrices. Weight 16 per
# level: kd's SPKDLoss divides the squared differences by N * N (RepDistiller), the
# seed's SPKDLoss by N, so at batch 16 this is the seed's loss.
_base_ = ['./mimic_rtdetr_digits.py']
model = dict(distill=dict(neck=dict(
    loss=dict(_delete_=True, type='SPKDLoss', loss_weight=16.0))))
