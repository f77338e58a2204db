"""WeightsConsistencyHook's fingerprint really tells different weights apart."""
import pytest
import torch
import torch.nn as nn

from kd.hooks import WeightsConsistencyHook


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))


def test_fingerprint_matches_hand_computation():
    model = _model()
    expected = torch.zeros(2, dtype=torch.float64)
    for _, p in sorted(model.named_parameters()):
        flat = p.detach().double().flatten()
        pos = torch.arange(1, flat.numel() + 1, dtype=torch.float64)
        expected += torch.stack([flat.sum(), (flat * flat * pos).sum() / flat.numel()])
    torch.testing.assert_close(WeightsConsistencyHook.fingerprint(model), expected)


def test_fingerprint_changes_with_a_weight_or_a_permutation_not_with_buffers():
    base = WeightsConsistencyHook.fingerprint(_model())
    changed = _model()
    with torch.no_grad():
        changed[0].weight[1, 2] += 1e-3
    assert not torch.equal(WeightsConsistencyHook.fingerprint(changed), base)
    permuted = _model()
    with torch.no_grad():
        permuted[0].weight.copy_(permuted[0].weight.flip(1))  # same sum, other order
    fp = WeightsConsistencyHook.fingerprint(permuted)
    assert fp[0].item() == pytest.approx(base[0].item()) and not torch.equal(fp, base)
    stats = _model()
    stats[1].running_mean += 5  # per-rank BatchNorm statistics are not compared
    torch.testing.assert_close(WeightsConsistencyHook.fingerprint(stats), base)
