# MGD (masked generative distillation, Yang et al. ECCV 2022) on the hybrid encoder's
# three outputs: alpha 2e-5, lambda 0.65 (the paper's detection settings, also the
# seed's), after the seed's normalisation (1x1 conv 128 -> 128 + batch-statistics BN on
# the student, the same BN on the teacher; mimic_rtdetr_digits.py), so MGD's own align
# conv is not needed; its generation block has 128 channels (filled by the probe).
_base_ = ['./mimic_rtdetr_digits.py']
model = dict(distill=dict(neck=dict(
    loss=dict(_delete_=True, type='MGDLoss', alpha_mgd=2e-5, lambda_mgd=0.65))))
