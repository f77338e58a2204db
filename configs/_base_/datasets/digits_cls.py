# DigitsCls: 32x32 RGB images of scikit-learn digits on coloured backgrounds,
# 6000 train / 1000 val, 10 balanced classes (tools/data/prepare_digits.py;
# prepared automatically on first use).
dataset_type = 'DigitsClsDataset'
data_root = 'data/digits_cls'

# Per-channel statistics of the training images (0-255 scale). Models that
# train on this data set use this preprocessor (see the quickstart configs).
data_preprocessor = dict(
    type='ClsDataPreprocessor', mean=[127.95, 128.22, 127.31], std=[65.32, 64.95, 64.58])

train_pipeline = [
    dict(type='RandomShiftCrop', pad=2),  # no flips: a mirrored digit is another symbol
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='PackClsInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline, auto_prepare=True))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline, auto_prepare=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
