# CWD on the FPN levels, trained on the same 20% labeled canvases alone (no unlabeled images).
_base_ = ['./cwd_retinanet_digits.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='kd.SplitLabels', dataset=_base_.train_dataloader.dataset,
    labeled_ratio=0.2, part='labeled', seed=0))
