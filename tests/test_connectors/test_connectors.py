"""Connectors: shapes, statistics, resizing and building from configs."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from kd.connectors import ConvConnector, LinearConnector, NormConnector, ResizeConnector
from kd.registry import MODELS, build_kd_module


@pytest.mark.parametrize('norm', [None, 'bn', 'gn', 'ln'])
@pytest.mark.parametrize('kernel_size', [1, 3])
def test_conv_connector_shapes(norm, kernel_size):
    conn = ConvConnector(8, 16, kernel_size=kernel_size, norm=norm, act='relu')
    out = conn(torch.randn(2, 8, 5, 7))
    assert out.shape == (2, 16, 5, 7)
    assert (out >= 0).all()


def test_conv_connector_group_norm_groups():
    assert ConvConnector(4, 64, norm='gn').norm.num_groups == 32
    assert ConvConnector(4, 12, norm='gn').norm.num_groups == 12
    assert ConvConnector(4, 48, norm='gn').norm.num_groups == 24


def test_conv_connector_layer_norm_is_per_location():
    conn = ConvConnector(3, 6, norm='ln', bias=False)
    out = conn(torch.randn(2, 3, 4, 4))
    torch.testing.assert_close(out.mean(1), torch.zeros(2, 4, 4), atol=1e-5, rtol=0)


def test_conv_connector_errors():
    assert ConvConnector(4, 8, bias=False).conv.bias is None
    with pytest.raises(ValueError, match='odd'):
        ConvConnector(4, 8, kernel_size=2)
    with pytest.raises(ValueError, match='norm'):
        ConvConnector(4, 8, norm='in')
    with pytest.raises(ValueError, match=r'\(N, 4, H, W\).*\(1, 5, 2, 2\)'):
        ConvConnector(4, 8)(torch.randn(1, 5, 2, 2))


def test_linear_connector_shapes():
    conn = LinearConnector(8, 4)
    assert conn(torch.randn(3, 8)).shape == (3, 4)
    assert conn(torch.randn(3, 5, 8)).shape == (3, 5, 4)
    assert LinearConnector(8, 4, bias=False).linear.bias is None
    with pytest.raises(ValueError, match='LinearConnector'):
        conn(torch.randn(3, 7))


@pytest.mark.parametrize('mode,dims', [('channel', (2, 3)), ('spatial', (1,)),
                                       ('layer', (1, 2, 3))])
def test_norm_connector_statistics(mode, dims):
    x = torch.randn(2, 6, 5, 4) * 3 + torch.arange(6.).view(1, 6, 1, 1)
    out = NormConnector(mode)(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out.mean(dims), torch.zeros_like(out.mean(dims)),
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(dims, correction=0),
                               torch.ones_like(out.mean(dims)), atol=1e-3, rtol=0)
    assert not list(NormConnector(mode).parameters())


def test_norm_connector_bad_mode():
    with pytest.raises(ValueError, match='channel'):
        NormConnector('group')


def test_resize_connector_to_reference():
    conn = ResizeConnector()
    feat, ref = torch.randn(2, 3, 5, 5), torch.randn(2, 7, 10, 12)
    assert conn(feat, ref).shape == (2, 3, 10, 12)
    assert conn(feat, torch.randn(1, 1, 5, 5)) is feat
    with pytest.raises(ValueError, match='reference'):
        conn(feat)


def test_resize_connector_fixed_size():
    assert ResizeConnector(size=4)(torch.randn(1, 2, 8, 8)).shape == (1, 2, 4, 4)
    nearest = ResizeConnector(size=(2, 3), mode='nearest')
    assert nearest(torch.randn(1, 2, 8, 9)).shape == (1, 2, 2, 3)
    const = torch.full((1, 1, 3, 3), 2.0)
    torch.testing.assert_close(ResizeConnector(size=6)(const), torch.full((1, 1, 6, 6), 2.0))


CONFIGS = [
    (dict(type='ConvConnector', in_channels=4, out_channels=8, norm='bn'), ConvConnector),
    (dict(type='LinearConnector', in_features=4, out_features=8), LinearConnector),
    (dict(type='NormConnector', mode='spatial'), NormConnector),
    (dict(type='ResizeConnector', size=3), ResizeConnector),
]


@pytest.mark.parametrize('cfg,cls', CONFIGS)
def test_build_from_registry(cfg, cls):
    scoped = dict(cfg, type='kd.' + cfg['type'])
    built = MODELS.build(scoped)
    assert type(built) is cls and isinstance(built, nn.Module)
    assert type(build_kd_module(cfg)) is cls


def test_connectors_accept_reference_argument():
    feat = torch.randn(1, 4, 3, 3)
    ref = torch.randn(1, 8, 3, 3)
    assert ConvConnector(4, 8)(feat, ref).shape == ref.shape
    assert NormConnector()(feat, ref).shape == feat.shape
