"""Top-k Accuracy on hand-worked predictions."""
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import BaseDataElement

from kd.evaluation import Accuracy
from kd.registry import METRICS

# 4 samples, 6 classes.  Ranking of each score row (best first):
#   0: 2 > 0 > 1 > ...   label 2 -> top1 hit
#   1: 0 > 1 > ...       label 1 -> top1 miss, rank 2
#   2: 5 > 4 > 3 > 2 > 1 > 0, label 0 -> rank 6: miss for top5
#   3: 3 > ...           label 3 -> top1 hit
SCORES = torch.tensor([
    [0.3, 0.2, 0.4, 0.05, 0.03, 0.02],
    [0.5, 0.4, 0.04, 0.03, 0.02, 0.01],
    [0.01, 0.02, 0.03, 0.04, 0.4, 0.5],
    [0.1, 0.1, 0.1, 0.5, 0.1, 0.1],
])
LABELS = [2, 1, 0, 3]


def _samples():
    return [BaseDataElement(pred_score=s, gt_label=torch.tensor([g]))
            for s, g in zip(SCORES, LABELS)]


def test_accuracy_hand_worked():
    metric = Accuracy(topk=(1, 2, 5))
    metric.process({}, _samples())
    # top1: samples 0, 3 -> 50 %; top2: + sample 1 -> 75 %; top5: sample 2 misses -> 75 %
    assert metric.evaluate(4) == pytest.approx(
        {'accuracy/top1': 50.0, 'accuracy/top2': 75.0, 'accuracy/top5': 75.0})


def test_accuracy_through_evaluator_with_dict_samples():
    evaluator = Evaluator(METRICS.build(dict(type='Accuracy', topk=(1, 5))))
    samples = _samples()
    samples[2].gt_label = torch.tensor([5])   # now every label is in the top 5
    evaluator.process(samples[:2])            # the Evaluator passes dicts to the metric
    evaluator.process(samples[2:])
    assert evaluator.evaluate(4) == pytest.approx({'accuracy/top1': 75.0,
                                                   'accuracy/top5': 100.0})


def test_accuracy_k_above_num_classes_and_errors():
    metric = Accuracy(topk=10, prefix='acc')
    metric.process({}, _samples())
    assert metric.evaluate(4) == {'acc/top10': 100.0}
    with pytest.raises(ValueError):
        Accuracy(topk=(0,))
    with pytest.raises(KeyError, match='pred_score'):
        Accuracy().process({}, [dict(gt_label=torch.tensor([1]))])
