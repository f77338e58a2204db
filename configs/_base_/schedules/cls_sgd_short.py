# Short epoch-based SGD schedule for the embedded classification data (~940
# iterations at batch 64; the loss sits near chance for the first ~300):
# one warm-up epoch (linear, iteration-wise), then cosine decay to ~0.
max_epochs = 10
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs,
         T_max=max_epochs - 1, eta_min=1e-4, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=64)
