# FBKD (feature-based KD for detection, Zhang & Ma ICLR 2021) on the 3 FPN levels: attention-masked
# feature, channel/spatial attention and non-local terms (the paper's weights); 1x1 connector.
_base_ = ['../cwd/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    connector=dict(type='ConvConnector'),
    loss=dict(_delete_=True, type='FBKDLoss'))))
