"""Shared fixtures: small embedded data sets built once per test session."""
from __future__ import annotations

import os.path as osp

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def tiny_digits_det(tmp_path_factory):
    """A small DigitsDet (48 train / 16 val canvases) in a temporary folder."""
    from kd.datasets.digits_data import build_digits_det
    root = tmp_path_factory.mktemp('data') / 'digits_det'
    build_digits_det(str(root), seed=0, num_train=48, num_val=16)
    return str(root)


@pytest.fixture(scope='session')
def tiny_digits_cls(tmp_path_factory):
    """A small DigitsCls (64 train / 32 val images) in a temporary folder."""
    from kd.datasets.digits_data import build_digits_cls
    root = tmp_path_factory.mktemp('data') / 'digits_cls'
    build_digits_cls(str(root), seed=0, num_train=64, num_val=32)
    return str(root)
