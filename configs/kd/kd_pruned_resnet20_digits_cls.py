# Workflow: distilling a pruned student. The trained ResNet-20 with half of every block's inner
# channels removed (tools/misc/prune_resnet_blocks.py, 0.27 M -> 0.14 M parameters, a network no
# config describes) is fine-tuned with KD (tau 4) from the unpruned ResNet-20. Make it first:
#   python tools/misc/prune_resnet_blocks.py configs/baselines/resnet_teacher_digits_cls.py
#       work_dirs/resnet_teacher_digits_cls/epoch_40.pth work_dirs/pruned/resnet20_keep50.pth
_base_ = ['./kd_resnet_digits_cls.py']
model = dict(student=dict(_delete_=True, model_file='work_dirs/pruned/resnet20_keep50.pth',
                          allow_unsafe_unpickle=True))
