# PKD (Cao et al. NeurIPS 2022) on COCO, as MMRazor's pkd_fpn_retina_x101_retina_r50_2x_coco
# (open-mmlab/mmrazor configs/distill/mmdet/pkd/, the authors' release): RetinaNet R50-FPN
# student (2x) <- RetinaNet X101-64x4d-FPN teacher (41.0 box AP, MMDetection zoo), one PKDLoss
# with loss_weight=10 on each of the first four FPN outputs (P3-P6: MMRazor's recipe has the
# four losses loss_pkd_fpn0-3 on neck outputs 0-3, so P7 is not distilled), no student
# initialisation, no gradient clipping. Both FPNs are 256 wide: no connector.
# Published: 37.4 -> 40.8 box AP (MMRazor pkd README and metafile). Needs GPUs and data/coco/.
_base_ = ['../_base_/coco_pairs/retinanet_x101_to_r50_fpn_2x.py']

model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck', levels=[0, 1, 2, 3],
            loss=dict(type='PKDLoss', loss_weight=10.0))))
