"""kd.utils.complexity counts parameters and multiply-adds."""
from torch import nn

from kd.utils.complexity import params_and_flops


def test_conv_params_and_flops():
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
    params, flops = params_and_flops(conv, (3, 8, 8))
    assert params == 4 * 3 * 3 * 3
    assert flops == 4 * 8 * 8 * 3 * 3 * 3        # one multiply-add per weight and output
    assert not conv.training
