# Student alone on 20% of the DigitsDet training labels (600 of 3000 canvases, kd.SplitLabels
# seed 0): the baseline of the unlabeled-images recipes.
_base_ = ['./retinanet_student_digits.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='kd.SplitLabels', dataset=_base_.train_dataloader.dataset,
    labeled_ratio=0.2, part='labeled', seed=0))
