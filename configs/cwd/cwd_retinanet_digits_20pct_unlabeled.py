# CWD with the other 80% of the canvases as unlabeled images: every batch holds 4 labeled and 12
# unlabeled canvases (MultiSourceSampler); the task loss sees only the labeled ones, CWD all 16.
_base_ = ['./cwd_retinanet_digits.py']
_labeled = dict(type='kd.SplitLabels', dataset=_base_.train_dataloader.dataset,
                labeled_ratio=0.2, part='labeled', seed=0)
_unlabeled = dict(_labeled, part='unlabeled')
train_dataloader = dict(
    batch_sampler=None,
    sampler=dict(_delete_=True, type='MultiSourceSampler', batch_size=16, source_ratio=[1, 3]),
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=[_labeled, _unlabeled]))
