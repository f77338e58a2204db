# CRD (Tian et al. ICLR 2020) as RepDistiller runs it (-a 0 -b 0.8): 128-d embeddings of
# the pooled features, 16384 negatives drawn from other classes (mode "exact"),
# temperature 0.07, memory momentum 0.5, weight 0.8, plus cross-entropy (weight 1).
# WRN-16-2 student <- WRN-40-2 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/wrn_40_2_cifar100.py
_base_ = ['../_base_/cifar_pairs/wrn_40_2_wrn_16_2.py']

model = dict(
    distill=dict(
        embedding=dict(student=dict(source='head.fc', type='module_inputs', index=0),
                       teacher=dict(source='head.fc', type='module_inputs', index=0),
                       loss=dict(type='CRDLoss', num_samples=50000, feat_dim=128,
                                 nce_k=16384, nce_t=0.07, nce_m=0.5,
                                 loss_weight=0.8))))

# every training image carries its index and 16384 negative indices (other classes) for CRD
train_dataloader = dict(dataset=dict(
    num_negatives=16384,
    pipeline=[
        dict(type='RandomShiftCrop', pad=4),
        dict(type='RandomHorizontalFlip', prob=0.5),
        dict(type='PackClsInputs', meta_keys=('sample_idx', 'contrast_idx')),
    ]))
