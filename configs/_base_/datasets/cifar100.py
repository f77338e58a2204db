# CIFAR-100 (python version): 50000 train / 10000 test images, 32x32 RGB, 100 classes.
# Not downloaded by kd: get cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html
# and run `mkdir -p data/cifar100 && tar -xzf cifar-100-python.tar.gz -C data/cifar100`, so that
# data/cifar100/cifar-100-python/ holds train, test and meta.
dataset_type = 'CIFARDataset'
data_root = 'data/cifar100'

# RepDistiller's normalisation (mean 0.5071, 0.4867, 0.4408; std 0.2675, 0.2565, 0.2761)
# in the 0-255 scale, RGB.
data_preprocessor = dict(
    type='ClsDataPreprocessor',
    mean=[129.3105, 124.1085, 112.404],
    std=[68.2125, 65.4075, 70.4055])

train_pipeline = [
    dict(type='RandomShiftCrop', pad=4),          # pad 4 (zeros), random 32x32 crop
    dict(type='RandomHorizontalFlip', prob=0.5),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='PackClsInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', num_classes=100,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', num_classes=100,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
