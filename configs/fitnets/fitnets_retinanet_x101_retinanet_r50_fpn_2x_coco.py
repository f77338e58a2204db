# FitNets / Mimic (Romero et al. ICLR 2015; Li et al. CVPR 2017) on COCO: RetinaNet R50-FPN
# student (2x) <- RetinaNet X101-64x4d-FPN teacher (41.0 box AP, MMDetection zoo). On each of the
# five FPN outputs (P3-P7) a 1x1 conv regressor (ConvConnector, the hint regressor of FitNets /
# the adaptation layer of Mimic; trained, dropped at export) maps the student feature and
# FeatureMSELoss (mean over elements) with loss_weight=1 matches it to the teacher's. Neither
# paper gives FPN weights; these are the ones of the FitNet baseline in LutingWang/HEAD
# (configs/kd/fitnet.py: per-level 1x1 Conv2d adapter, F.mse_loss, weight 1.0). No student
# initialisation, no gradient clipping. Published: none for this pair. Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/retinanet_x101_to_r50_fpn_2x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',
            connector=dict(type='ConvConnector'),   # 1x1 conv 256 -> 256, one per level
            loss=dict(type='FeatureMSELoss', loss_weight=1.0))))
