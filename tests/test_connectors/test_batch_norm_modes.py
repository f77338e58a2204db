"""BatchNorm-statistics normalisation of MMRazor's RTMDet recipe (connectors)."""
import numpy as np
import pytest
import torch

from kd.connectors import ConvConnector, NormConnector


def _batch_standardise(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Per channel over batch and locations, float64 loops (BN without affine)."""
    out = np.empty_like(x, dtype=np.float64)
    for c in range(x.shape[1]):
        values = x[:, c].astype(np.float64)
        mean = values.mean()
        var = ((values - mean) ** 2).mean()
        out[:, c] = (values - mean) / np.sqrt(var + eps)
    return out


def test_norm_connector_batch_mode_is_bn_without_affine():
    x = torch.randn(3, 4, 5, 6, dtype=torch.float64) * 3 + 1
    got = NormConnector(mode='batch')(x)
    assert np.allclose(got.numpy(), _batch_standardise(x.numpy()), atol=1e-10)
    bn = torch.nn.BatchNorm2d(4, affine=False, track_running_stats=False).double().eval()
    assert torch.allclose(got, bn(x), atol=1e-10)
    with pytest.raises(ValueError, match='batch'):
        NormConnector(mode='batch')(torch.randn(3))


def test_conv_connector_bn_batch_uses_the_batch_statistics_in_eval_too():
    conn = ConvConnector(4, 6, bias=False, norm='bn_batch')
    assert conn.conv.bias is None and not list(conn.norm.parameters())
    assert conn.norm.running_mean is None
    x = torch.randn(2, 4, 3, 3)
    y_train = conn(x)
    conn.eval()
    assert torch.allclose(conn(x), y_train)
    y = y_train.detach().double().numpy()
    assert np.allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    assert np.allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)
