# CRD with weight 0.1 instead of RepDistiller's 0.8: the contrastive loss (about 18 at the start,
# two NCE terms over 4096 negatives) then starts near the cross-entropy; a tuned variant.
_base_ = ['./crd_resnet_digits_cls.py']
model = dict(distill=dict(embedding=dict(loss=dict(loss_weight=0.1))))
