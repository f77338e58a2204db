# Runtime shared by the classification recipes (epoch based, CPU friendly).
default_scope = 'kd'

# Every kd run, plain or distilled, has these hooks (disable one with `<name>=None`).
# kd.AtomicCheckpointHook: MMEngine's CheckpointHook, writing each checkpoint atomically
# (a kill mid-save leaves the previous one intact; docs/reliability.md)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='kd.AtomicCheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # a distiller's student alone -> <work_dir>/student_last.pth (and student_best.pth);
    # nothing for a plain model
    student_checkpoint=dict(type='kd.StudentCheckpointHook'),
    # distributed runs check at the end that every rank holds the same weights
    weights_consistency=dict(type='kd.WeightsConsistencyHook'),
    # loader workers pass tensors as shared-memory file names, not one file descriptor
    # (and one socket handshake) per sample tensor: same values, 46.8 -> 25.1 ms per DigitsCls
    # batch on 2 cores (docs/benchmark.md, "Data loading")
    sharing_strategy=dict(type='kd.SharingStrategyHook', strategy='file_system'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'))

# Scalars, configs and images go to <work_dir>/<timestamp>/vis_data/ (LocalVisBackend);
# TensorBoard event files go there too when TensorBoard is installed
# (`pip install tensorboard`). `__import__`, not an import statement: MMEngine 0.10
# takes a base config with `import` for a lazy-import config and refuses it.
vis_backends = [dict(type='LocalVisBackend')]
try:
    __import__('torch.utils.tensorboard')  # what TensorboardVisBackend imports
    vis_backends.append(dict(type='TensorboardVisBackend'))
except Exception:  # not installed, or an install that does not import
    pass
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)

