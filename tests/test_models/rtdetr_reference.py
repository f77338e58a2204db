"""A test-only restatement of the official ``rtdetr_pytorch`` module tree (inference path).

Written for the converter test from the official code's structure
(``lyuwenyu/RT-DETR``, ``rtdetr_pytorch/src/nn/backbone/presnet.py`` and
``src/zoo/rtdetr/{hybrid_encoder,rtdetr_decoder,utils}.py``): the attribute names,
hence the state-dict keys and shapes, are the official ones; the forward is the
official inference computation (``eval()``, no denoising, anchors computed from the
feature sizes). It is independent of ``kd.models.rtdetr``: nothing is imported from it.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


def _act(name):
    return {'relu': nn.ReLU(), 'silu': nn.SiLU(), 'gelu': nn.GELU(), None: nn.Identity()}[name]


class FrozenBN(nn.Module):
    """BN with fixed statistics and affine terms as buffers (no num_batches_tracked)."""

    def __init__(self, n, eps=1e-5):
        super().__init__()
        for name, init in (('weight', torch.ones), ('bias', torch.zeros),
                           ('running_mean', torch.zeros), ('running_var', torch.ones)):
            self.register_buffer(name, init(n))
        self.eps = eps

    def forward(self, x):
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale[None, :, None, None] + shift[None, :, None, None]


class ConvNormLayer(nn.Module):
    def __init__(self, cin, cout, k, s, padding=None, act=None):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, (k - 1) // 2 if padding is None else padding,
                              bias=False)
        self.norm = nn.BatchNorm2d(cout)
        self.act = _act(act)

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))



def _shortcut(cin, cout, stride):
    if stride == 2:
        return nn.Sequential(OrderedDict([('pool', nn.AvgPool2d(2, 2, 0, ceil_mode=True)),
                                          ('conv', ConvNormLayer(cin, cout, 1, 1))]))
    return ConvNormLayer(cin, cout, 1, stride)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, cout, stride, shortcut):
        super().__init__()
        self.shortcut = shortcut
        if not shortcut:
            self.short = _shortcut(cin, cout, stride)
        self.branch2a = ConvNormLayer(cin, cout, 3, stride, act='relu')
        self.branch2b = ConvNormLayer(cout, cout, 3, 1)

    def forward(self, x):
        out = self.branch2b(self.branch2a(x))
        return F.relu(out + (x if self.shortcut else self.short(x)))


class BottleNeck(nn.Module):
    expansion = 4

    def __init__(self, cin, cout, stride, shortcut):
        super().__init__()
        self.branch2a = ConvNormLayer(cin, cout, 1, 1, act='relu')
        self.branch2b = ConvNormLayer(cout, cout, 3, stride, act='relu')
        self.branch2c = ConvNormLayer(cout, cout * 4, 1, 1)
        self.shortcut = shortcut
        if not shortcut:
            self.short = _shortcut(cin, cout * 4, stride)

    def forward(self, x):
        out = self.branch2c(self.branch2b(self.branch2a(x)))
        return F.relu(out + (x if self.shortcut else self.short(x)))


class Blocks(nn.Module):
    def __init__(self, block, cin, cout, count, stage_num):
        super().__init__()
        self.blocks = nn.ModuleList()
        for i in range(count):
            self.blocks.append(block(cin, cout, 2 if i == 0 and stage_num != 2 else 1,
                                     shortcut=i != 0))
            cin = cout * block.expansion

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


class PResNet(nn.Module):
    def __init__(self, depth, return_idx=(1, 2, 3), freeze_norm=False):
        super().__init__()
        counts = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3]}[depth]
        self.conv1 = nn.Sequential(OrderedDict([
            ('conv1_1', ConvNormLayer(3, 32, 3, 2, act='relu')),
            ('conv1_2', ConvNormLayer(32, 32, 3, 1, act='relu')),
            ('conv1_3', ConvNormLayer(32, 64, 3, 1, act='relu'))]))
        block = BottleNeck if depth >= 50 else BasicBlock
        cin = 64
        self.res_layers = nn.ModuleList()
        for i, cout in enumerate([64, 128, 256, 512]):
            self.res_layers.append(Blocks(block, cin, cout, counts[i], i + 2))
            cin = cout * block.expansion
        self.return_idx = list(return_idx)
        if freeze_norm:
            self._freeze(self)

    def _freeze(self, m):
        for name, child in m.named_children():
            if isinstance(child, nn.BatchNorm2d):
                setattr(m, name, FrozenBN(child.num_features))
            else:
                self._freeze(child)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 3, 2, 1)
        outs = []
        for i, stage in enumerate(self.res_layers):
            x = stage(x)
            if i in self.return_idx:
                outs.append(x)
        return outs


class RepVggBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = ConvNormLayer(c, c, 3, 1, padding=1)
        self.conv2 = ConvNormLayer(c, c, 1, 1, padding=0)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.conv1(x) + self.conv2(x))


class CSPRepLayer(nn.Module):
    def __init__(self, cin, cout, n, expansion):
        super().__init__()
        hidden = int(cout * expansion)
        self.conv1 = ConvNormLayer(cin, hidden, 1, 1, act='silu')
        self.conv2 = ConvNormLayer(cin, hidden, 1, 1, act='silu')
        self.bottlenecks = nn.Sequential(*[RepVggBlock(hidden) for _ in range(n)])
        self.conv3 = (ConvNormLayer(hidden, cout, 1, 1, act='silu') if hidden != cout
                      else nn.Identity())

    def forward(self, x):
        return self.conv3(self.bottlenecks(self.conv1(x)) + self.conv2(x))


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, 0.0, batch_first=True)
        self.linear1, self.linear2 = nn.Linear(d, ffn), nn.Linear(ffn, d)
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)

    def forward(self, src, pos):
        q = src + pos
        src = self.norm1(src + self.self_attn(q, q, src, need_weights=False)[0])
        return self.norm2(src + self.linear2(F.gelu(self.linear1(src))))


class TransformerEncoder(nn.Module):
    def __init__(self, d, heads, ffn, n):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(d, heads, ffn) for _ in range(n))

    def forward(self, x, pos):
        for layer in self.layers:
            x = layer(x, pos)
        return x


def sincos(w, h, dim, temperature=10000.0):
    gw, gh = torch.meshgrid(torch.arange(w, dtype=torch.float32),
                            torch.arange(h, dtype=torch.float32), indexing='ij')
    q = dim // 4
    omega = 1.0 / temperature ** (torch.arange(q, dtype=torch.float32) / q)
    ow, oh = gw.flatten()[:, None] * omega[None], gh.flatten()[:, None] * omega[None]
    return torch.cat([ow.sin(), ow.cos(), oh.sin(), oh.cos()], 1)[None]


class HybridEncoder(nn.Module):
    def __init__(self, in_channels, hidden_dim=256, nhead=8, dim_feedforward=1024,
                 expansion=1.0, depth_mult=1.0):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.input_proj = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, hidden_dim, 1, bias=False), nn.BatchNorm2d(hidden_dim))
            for c in in_channels)
        self.encoder = nn.ModuleList([TransformerEncoder(hidden_dim, nhead, dim_feedforward, 1)])
        n = round(3 * depth_mult)
        k = len(in_channels) - 1
        self.lateral_convs = nn.ModuleList(
            ConvNormLayer(hidden_dim, hidden_dim, 1, 1, act='silu') for _ in range(k))
        self.fpn_blocks = nn.ModuleList(
            CSPRepLayer(2 * hidden_dim, hidden_dim, n, expansion) for _ in range(k))
        self.downsample_convs = nn.ModuleList(
            ConvNormLayer(hidden_dim, hidden_dim, 3, 2, act='silu') for _ in range(k))
        self.pan_blocks = nn.ModuleList(
            CSPRepLayer(2 * hidden_dim, hidden_dim, n, expansion) for _ in range(k))

    def forward(self, feats):
        p = [proj(f) for proj, f in zip(self.input_proj, feats)]
        b, c, h, w = p[-1].shape
        tokens = p[-1].flatten(2).permute(0, 2, 1)
        tokens = self.encoder[0](tokens, sincos(w, h, c))
        p[-1] = tokens.permute(0, 2, 1).reshape(b, c, h, w)
        n = len(p)
        inner = [p[-1]]
        for idx in range(n - 1, 0, -1):
            high = self.lateral_convs[n - 1 - idx](inner[0])
            inner[0] = high
            up = F.interpolate(high, scale_factor=2.0, mode='nearest')
            inner.insert(0, self.fpn_blocks[n - 1 - idx](torch.cat([up, p[idx - 1]], 1)))
        outs = [inner[0]]
        for idx in range(n - 1):
            down = self.downsample_convs[idx](outs[-1])
            outs.append(self.pan_blocks[idx](torch.cat([down, inner[idx + 1]], 1)))
        return outs


class MLP(nn.Module):
    def __init__(self, din, dh, dout, n):
        super().__init__()
        dims = [din] + [dh] * (n - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:] + [dout]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else F.relu(layer(x))
        return x


class MSDeformableAttention(nn.Module):
    def __init__(self, d, heads, levels, points):
        super().__init__()
        self.heads, self.levels, self.points = heads, levels, points
        self.sampling_offsets = nn.Linear(d, heads * levels * points * 2)
        self.attention_weights = nn.Linear(d, heads * levels * points)
        self.value_proj, self.output_proj = nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, query, ref, value, shapes):
        bs, nq, d = query.shape
        hd = d // self.heads
        v = self.value_proj(value).reshape(bs, -1, self.heads, hd)
        off = self.sampling_offsets(query).reshape(bs, nq, self.heads, self.levels,
                                                   self.points, 2)
        att = self.attention_weights(query).reshape(bs, nq, self.heads, -1).softmax(-1)
        att = att.reshape(bs, nq, self.heads, self.levels, self.points)
        loc = ref[:, :, None, :, None, :2] + off / self.points * ref[:, :, None, :, None, 2:] * 0.5
        grids = 2 * loc - 1
        vals = v.split([h * w for h, w in shapes], dim=1)
        sampled = []
        for lvl, (h, w) in enumerate(shapes):
            vl = vals[lvl].flatten(2).permute(0, 2, 1).reshape(bs * self.heads, hd, h, w)
            gl = grids[:, :, :, lvl].permute(0, 2, 1, 3, 4).flatten(0, 1)
            sampled.append(F.grid_sample(vl, gl, mode='bilinear', padding_mode='zeros',
                                         align_corners=False))
        att = att.permute(0, 2, 1, 3, 4).reshape(bs * self.heads, 1, nq, -1)
        out = (torch.stack(sampled, -2).flatten(-2) * att).sum(-1).reshape(bs, d, nq)
        return self.output_proj(out.permute(0, 2, 1))


class DecoderLayer(nn.Module):
    def __init__(self, d, heads, ffn, levels, points):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, 0.0, batch_first=True)
        self.norm1 = nn.LayerNorm(d)
        self.cross_attn = MSDeformableAttention(d, heads, levels, points)
        self.norm2 = nn.LayerNorm(d)
        self.linear1, self.linear2 = nn.Linear(d, ffn), nn.Linear(ffn, d)
        self.norm3 = nn.LayerNorm(d)

    def forward(self, tgt, ref, memory, shapes, pos):
        q = tgt + pos
        tgt = self.norm1(tgt + self.self_attn(q, q, tgt, need_weights=False)[0])
        tgt = self.norm2(tgt + self.cross_attn(tgt + pos, ref, memory, shapes))
        return self.norm3(tgt + self.linear2(F.relu(self.linear1(tgt))))


class TransformerDecoder(nn.Module):
    def __init__(self, d, heads, ffn, levels, points, n):
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(d, heads, ffn, levels, points)
                                    for _ in range(n))


def inverse_sigmoid(x, eps=1e-5):
    x = x.clip(0.0, 1.0)
    return torch.log(x.clip(min=eps) / (1 - x).clip(min=eps))


class RTDETRTransformer(nn.Module):
    def __init__(self, num_classes=80, hidden_dim=256, num_queries=300,
                 feat_channels=(256, 256, 256), num_levels=3, num_decoder_points=4, nhead=8,
                 num_decoder_layers=6, dim_feedforward=1024, num_denoising=100):
        super().__init__()
        self.num_queries, self.hidden_dim, self.num_classes = num_queries, hidden_dim, num_classes
        self.input_proj = nn.ModuleList(
            nn.Sequential(OrderedDict([('conv', nn.Conv2d(c, hidden_dim, 1, bias=False)),
                                       ('norm', nn.BatchNorm2d(hidden_dim))]))
            for c in feat_channels)
        self.decoder = TransformerDecoder(hidden_dim, nhead, dim_feedforward, num_levels,
                                          num_decoder_points, num_decoder_layers)
        if num_denoising > 0:
            self.denoising_class_embed = nn.Embedding(num_classes + 1, hidden_dim,
                                                      padding_idx=num_classes)
        self.query_pos_head = MLP(4, 2 * hidden_dim, hidden_dim, 2)
        self.enc_output = nn.Sequential(nn.Linear(hidden_dim, hidden_dim),
                                        nn.LayerNorm(hidden_dim))
        self.enc_score_head = nn.Linear(hidden_dim, num_classes)
        self.enc_bbox_head = MLP(hidden_dim, hidden_dim, 4, 3)
        self.dec_score_head = nn.ModuleList(nn.Linear(hidden_dim, num_classes)
                                            for _ in range(num_decoder_layers))
        self.dec_bbox_head = nn.ModuleList(MLP(hidden_dim, hidden_dim, 4, 3)
                                           for _ in range(num_decoder_layers))

    @staticmethod
    def anchors(shapes, grid=0.05, eps=1e-2):
        out = []
        for lvl, (h, w) in enumerate(shapes):
            gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float32),
                                    torch.arange(w, dtype=torch.float32), indexing='ij')
            xy = (torch.stack([gx, gy], -1)[None] + 0.5) / torch.tensor([w, h], dtype=torch.float32)
            wh = torch.ones_like(xy) * grid * 2.0 ** lvl
            out.append(torch.cat([xy, wh], -1).reshape(-1, h * w, 4))
        a = torch.cat(out, 1)
        valid = ((a > eps) * (a < 1 - eps)).all(-1, keepdim=True)
        return torch.where(valid, torch.log(a / (1 - a)), torch.inf), valid

    def forward(self, feats):
        proj = [p(f) for p, f in zip(self.input_proj, feats)]
        shapes = [list(f.shape[2:]) for f in proj]
        memory = torch.cat([f.flatten(2).permute(0, 2, 1) for f in proj], 1)
        anchors, valid = self.anchors(shapes)
        out_mem = self.enc_output(valid.to(memory.dtype) * memory)
        logits = self.enc_score_head(out_mem)
        coord = self.enc_bbox_head(out_mem) + anchors
        idx = torch.topk(logits.max(-1).values, self.num_queries, dim=1)[1]
        ref_unact = coord.gather(1, idx.unsqueeze(-1).repeat(1, 1, 4))
        tgt = out_mem.gather(1, idx.unsqueeze(-1).repeat(1, 1, out_mem.shape[-1]))
        ref = ref_unact.sigmoid()
        for i, layer in enumerate(self.decoder.layers):
            pos = self.query_pos_head(ref)
            tgt = layer(tgt, ref.unsqueeze(2), memory, shapes, pos)
            ref = (self.dec_bbox_head[i](tgt) + inverse_sigmoid(ref)).sigmoid()
        return dict(pred_logits=self.dec_score_head[-1](tgt), pred_boxes=ref)


class RTDETR(nn.Module):
    def __init__(self, backbone, encoder, decoder):
        super().__init__()
        self.backbone, self.encoder, self.decoder = backbone, encoder, decoder

    def forward(self, x):
        return self.decoder(self.encoder(self.backbone(x)))


def official_rtdetr(depth=18, num_classes=80, hidden_dim=256, num_queries=300,
                    num_decoder_layers=3, dim_feedforward=1024, expansion=0.5, nhead=8):
    """The official model of an ``rtdetr_r{depth}vd`` config (smaller widths allowed)."""
    in_channels = [128, 256, 512] if depth < 50 else [512, 1024, 2048]
    return RTDETR(
        PResNet(depth, freeze_norm=depth >= 50),
        HybridEncoder(in_channels, hidden_dim, nhead, dim_feedforward, expansion),
        RTDETRTransformer(num_classes, hidden_dim, num_queries, [hidden_dim] * 3, 3, 4, nhead,
                          num_decoder_layers, dim_feedforward))


def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BN statistics everywhere (zero padding row kept zero)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith(('norm.weight', 'norm1.weight', 'norm2.weight', 'norm3.weight')):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            else:
                fan = t[0].numel() if t.dim() > 1 else 16
                t.copy_(torch.randn(t.shape, generator=gen) / math.sqrt(max(fan, 1)))
        embed = getattr(model.decoder, 'denoising_class_embed', None)
        if embed is not None:
            embed.weight[-1].zero_()
    return model
