"""tools/analysis_tools/detr_teacher_confidence.py: counting targets per threshold."""
import math
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'tools', 'analysis_tools'))
from detr_teacher_confidence import count_targets  # noqa: E402


def _logit(p):
    return math.log(p / (1 - p))


def test_counts_use_the_last_layer_and_the_best_class():
    # 2 layers, 2 images, 3 queries, 2 classes; best probabilities of the last layer:
    # image 0: 0.9, 0.35, 0.05 -> 2 above 0.3, 1 above 0.5; image 1: 0.2, 0.25, 0.1 -> none
    last = torch.tensor([[[_logit(0.9), _logit(0.1)], [_logit(0.2), _logit(0.35)],
                          [_logit(0.05), _logit(0.01)]],
                         [[_logit(0.2), _logit(0.1)], [_logit(0.1), _logit(0.25)],
                          [_logit(0.1), _logit(0.05)]]])
    first = torch.full_like(last, 10.0)          # all confident: must be ignored
    counts = count_targets(torch.stack([first, last]), [0.3, 0.5])
    assert counts == {0.3: [2, 0], 0.5: [1, 0]}
    # the loss's topk caps the targets per image
    assert count_targets(torch.stack([first, last]), [0.3], topk=1) == {0.3: [1, 0]}


def test_softmax_heads_drop_the_background_column():
    # one image, two queries, 2 classes + background; softmax rows:
    # query 0: (0.6, 0.1 | 0.3) -> best 0.6; query 1: (0.1, 0.1 | 0.8) -> best 0.1
    probs = torch.tensor([[[[0.6, 0.1, 0.3], [0.1, 0.1, 0.8]]]])
    counts = count_targets(probs.log(), [0.5, 0.05], use_sigmoid=False)
    assert counts == {0.5: [1], 0.05: [2]}
