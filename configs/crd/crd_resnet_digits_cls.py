# CRD (contrastive representation distillation, Tian et al. ICLR 2020) on the pooled embedding:
# 128-d heads, 4096 negatives from the memory bank, temperature 0.07, weight 0.8 (RepDistiller).
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(_delete_=True, embedding=dict(
    student=dict(source='head.fc', type='module_inputs', index=0),
    teacher=dict(source='head.fc', type='module_inputs', index=0),
    loss=dict(type='CRDLoss', num_samples=6000, feat_dim=128, nce_k=4096, nce_t=0.07,
              nce_m=0.5, loss_weight=0.8))))
