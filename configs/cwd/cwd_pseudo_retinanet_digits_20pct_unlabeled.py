# As cwd_retinanet_digits_20pct_unlabeled.py, plus the teacher's detections with score >= 0.5 as
# hard pseudo-labels for the student's task loss on the unlabeled canvases (weight 1).
_base_ = ['./cwd_retinanet_digits_20pct_unlabeled.py']
model = dict(pseudo_labels=dict(score_thr=0.5, loss_weight=1.0))
