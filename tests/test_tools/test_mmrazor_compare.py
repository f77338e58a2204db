"""kd.benchmark_mmrazor (pure helpers, hand-worked values) and the mmrazor_compare tool.

Only the last test needs MMRazor (installed with ``pip install --no-deps --target
/work/scratch/mmrazor_pkg mmrazor==1.0.0``); it runs the tool in a subprocess, so
this test process never imports MMRazor.
"""
import importlib.util
import json
import math
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from torch import nn

from kd.benchmark_mmrazor import (
    TABLE_HEADER,
    Accounting,
    copy_weights,
    flatten_losses,
    format_table,
    match_losses,
    max_grad_diff,
    peak_growth,
    ratio_stats,
    rename_state_dict,
    replace_block,
    table_row,
    wsld_entropy_offset,
)

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'mmrazor_compare.py'
MMRAZOR_PATH = os.environ.get('KD_MMRAZOR_PATH', '/work/scratch/mmrazor_pkg')


def _tool():
    name = 'mmrazor_compare_under_test'
    if name not in sys.modules:   # registered first: its dataclasses look their module up
        spec = importlib.util.spec_from_file_location(name, TOOL)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# ------------------------------------------------------------------ weights
def test_rename_state_dict_first_matching_rule_and_drops():
    state = {'student.a': 1, 'teacher.b': 2, 'entries.fpn.connectors.0.conv.weight': 3,
             'entries.fpn.connectors.10.conv.weight': 4, 'junk.x': 5}
    rules = [('student.', 'architecture.'), ('teacher.', 'teacher.'),
             ('entries.fpn.connectors.0.', 'distiller.connectors.fpn0_s.'),
             ('entries.fpn.connectors.10.', 'distiller.connectors.fpn10_s.'),
             ('junk.', None)]
    assert rename_state_dict(state, rules) == {
        'architecture.a': 1, 'teacher.b': 2,
        'distiller.connectors.fpn0_s.conv.weight': 3,
        'distiller.connectors.fpn10_s.conv.weight': 4}


def test_rename_state_dict_errors_name_the_keys():
    with pytest.raises(KeyError) as err:
        rename_state_dict({'student.a': 1, 'other.w': 2}, [('student.', 's.')])
    assert "1 key(s) match no rule, e.g. ['other.w']" in err.value.args[0]
    with pytest.raises(KeyError) as err:
        rename_state_dict({'p.a': 1, 'q.a': 2}, [('p.', 'x.'), ('q.', 'x.')])
    assert '"q.a" and another key both become "x.a"' in err.value.args[0]


class _Target(nn.Module):
    def __init__(self, out=3):
        super().__init__()
        self.architecture = nn.Linear(2, out)
        self.distiller = nn.Module()
        self.distiller.conv = nn.Conv2d(3, 4, 1)


def test_copy_weights_copies_every_tensor():
    src = {'student.weight': torch.arange(6.).view(3, 2), 'student.bias': torch.tensor([1., 2, 3]),
           'entries.c.weight': torch.full((4, 3, 1, 1), 0.5), 'entries.c.bias': torch.zeros(4)}
    target = _Target()
    n = copy_weights(src, target, [('student.', 'architecture.'),
                                   ('entries.c.', 'distiller.conv.')])
    assert n == 4
    assert torch.equal(target.architecture.weight, torch.arange(6.).view(3, 2))
    assert torch.equal(target.architecture.bias, torch.tensor([1., 2, 3]))
    assert torch.equal(target.distiller.conv.weight, torch.full((4, 3, 1, 1), 0.5))


def test_copy_weights_lists_missing_unexpected_and_shapes():
    target = _Target()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    src = {'student.weight': torch.zeros(5, 2), 'student.bias': torch.zeros(3),
           'entries.extra': torch.zeros(1)}
    with pytest.raises(KeyError) as err:
        copy_weights(src, target, [('student.', 'architecture.'), ('entries.', 'distiller.')])
    text = err.value.args[0]
    assert "missing in the source, e.g. ['distiller.conv.bias', 'distiller.conv.weight']" in text
    assert "unexpected in the target, e.g. ['distiller.extra']" in text
    assert 'architecture.weight: (5, 2) vs (3, 2)' in text
    assert all(torch.equal(v, before[k]) for k, v in target.state_dict().items())  # untouched


def test_max_grad_diff_renames_and_counts_none_as_zero():
    kd = {'student.w': torch.tensor([1., 2.]), 'entries.c.weight': torch.tensor([0.5]),
          'student.b': None}
    mm = {'architecture.w': torch.tensor([1., 2.5]), 'distiller.c.weight': torch.tensor([-0.25]),
          'architecture.b': torch.tensor([0.1, -3.0])}
    diff, scale = max_grad_diff(kd, mm, [('student.', 'architecture.'),
                                         ('entries.c.', 'distiller.c.')])
    # |2 - 2.5| = 0.5, |0.5 + 0.25| = 0.75, |0 - (-3)| = 3 ; largest |g_mm| = 3
    assert diff == pytest.approx(3.0) and scale == pytest.approx(3.0)


# ------------------------------------------------------------------- losses
def test_flatten_losses_sums_levels_and_skips_factors_and_metrics():
    losses = {'student.loss_cls': [torch.tensor(1.0), torch.tensor(2.5)],
              'student.loss_bbox': torch.tensor(0.25), 'distill.fpn': torch.tensor(0.5),
              'factor.fpn': torch.tensor(1.0), 'student.acc': torch.tensor(0.9)}
    assert flatten_losses(losses) == {'student.loss_cls': 3.5, 'student.loss_bbox': 0.25,
                                      'distill.fpn': 0.5}


def test_match_losses_level_sum_and_accounting():
    kd = {'student.loss_cls': 3.0, 'distill.fpn': 0.6, 'distill.logits': 0.5}
    mm = {'student.loss_cls': 3.0, 'distill.loss_fpn0': 0.1, 'distill.loss_fpn1': 0.2,
          'distill.loss_fpn2': 0.3, 'distill.loss_dkd': 32.0}
    rows = match_losses(kd, mm, {'distill.fpn': ['distill.loss_fpn0', 'distill.loss_fpn1',
                                                 'distill.loss_fpn2'],
                                 'distill.logits': ['distill.loss_dkd']},
                        {'distill.logits': Accounting(factor=1 / 64)})
    by = {r.kd_key: r for r in rows}
    assert by['student.loss_cls'].mm_keys == ['student.loss_cls']
    assert by['distill.fpn'].mm == pytest.approx(0.6)
    assert by['distill.fpn'].abs_diff == pytest.approx(0.0, abs=1e-15)
    assert by['distill.logits'].mm == 32.0 and by['distill.logits'].mm_accounted == 0.5
    assert all(r.agrees() for r in rows)


def test_accounting_offset_and_tolerance():
    acc = Accounting(factor=2.0, offset=-1.5)
    assert acc.apply(3.0) == 4.5
    rows = match_losses({'distill.x': 100.0005, 'distill.y': 2e-5},
                        {'distill.x': 100.0, 'distill.y': 0.0}, {})
    by = {r.kd_key: r for r in rows}
    assert by['distill.x'].agrees()          # 5e-4 <= 1e-5 * 100
    assert not by['distill.y'].agrees()      # 2e-5 > 1e-5 * 1
    assert by['distill.y'].agrees(tol=3e-5)


def test_match_losses_unpaired_keys_fail():
    with pytest.raises(KeyError) as err:
        match_losses({'distill.fpn': 1.0}, {'distill.loss_1': 1.0},
                     {'distill.fpn': ['distill.loss_1', 'distill.loss_2']})
    assert 'kd "distill.fpn" -> MMRazor [\'distill.loss_2\']' in err.value.args[0]
    with pytest.raises(KeyError) as err:
        match_losses({'a': 1.0}, {'a': 1.0, 'distill.loss_extra': 2.0}, {})
    assert "without a kd partner: ['distill.loss_extra']" in err.value.args[0]


def test_wsld_offset_uniform_two_classes():
    # s = t = (0, 0), label 0, tau 1: CE_s = CE_t = log 2, w = 1 - exp(-log2 / (log2 + 1e-7)),
    # H(p_t) = log 2; offset = -1 * 1 * w * log 2
    s = t = torch.zeros(1, 2)
    w = 1 - math.exp(-math.log(2) / (math.log(2) + 1e-7))
    assert w == pytest.approx(1 - math.exp(-1), rel=1e-6)
    expected = -w * math.log(2)
    assert wsld_entropy_offset(s, t, torch.tensor([0]), 1.0, 1.0) == pytest.approx(
        expected, rel=1e-12)
    assert expected == pytest.approx(-0.4381525, rel=1e-6)


def test_wsld_offset_student_ce_twice_the_teachers():
    # teacher uniform over 3 classes: CE_t = log 3, H(p_t / tau) = log 3 for every tau;
    # student (0, log 4, log 4): p_s(0) = 1 / 9, CE_s = 2 log 3 -> w = 1 - exp(-2 log3/(log3+1e-7))
    t = torch.zeros(1, 3)
    s = torch.tensor([[0.0, math.log(4), math.log(4)]])
    tau, lw = 2.0, 2.25
    w = 1 - math.exp(-2 * math.log(3) / (math.log(3) + 1e-7))
    expected = -lw * tau**2 * w * math.log(3)
    assert expected == pytest.approx(-8.549381, rel=1e-6)  # 9 (1 - e^-2) ln 3
    assert wsld_entropy_offset(s, t, torch.tensor([0]), tau, lw) == pytest.approx(
        expected, rel=1e-9)


def test_wsld_offset_is_soft_ce_minus_kl():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    y = torch.randint(5, (6, ), generator=g)
    tau, lw = 4.0, 2.25
    log_ps, log_pt = (s / tau).log_softmax(1), (t / tau).log_softmax(1)
    ce_s = -s.log_softmax(1)[range(6), y]
    ce_t = -t.log_softmax(1)[range(6), y]
    w = 1 - torch.exp(-(ce_s / (ce_t + 1e-7)).clamp(min=0))
    soft_ce = lw * tau**2 * (w * -(log_pt.exp() * log_ps).sum(1)).mean()
    kl = lw * tau**2 * (w * (log_pt.exp() * (log_pt - log_ps)).sum(1)).mean()
    assert float(kl - soft_ce) == pytest.approx(wsld_entropy_offset(s, t, y, tau, lw), rel=1e-5)


# ---------------------------------------------------------- memory, timing, tables
def test_peak_growth_sorts_by_time():
    events = [(3, -50), (1, 100), (2, 50), (4, 30)]   # +100, +50, -50, +30
    assert peak_growth(events) == (150, 130)
    assert peak_growth([(1, -10)]) == (0, -10)
    assert peak_growth([]) == (0, 0)


def test_ratio_stats_per_round_medians():
    kd = [[10.0, 12.0, 11.0], [20.0, 30.0, 25.0]]
    mm = [[20.0, 22.0, 21.0], [25.0, 25.0, 25.0]]
    st = ratio_stats(kd, mm)
    assert st['rounds'] == pytest.approx([11 / 21, 1.0])
    assert st['median'] == pytest.approx((11 / 21 + 1.0) / 2)
    assert st['min'] == pytest.approx(11 / 21) and st['max'] == 1.0
    # medians of all six: kd (12 + 20) / 2, MMRazor (22 + 25) / 2
    assert st['kd_ms'] == 16.0 and st['mm_ms'] == 23.5
    assert st['overall'] == pytest.approx(16.0 / 23.5)
    with pytest.raises(ValueError, match='as many kd as MMRazor rounds'):
        ratio_stats(kd, mm[:1])


def _result(**kw):
    base = dict(method='CWD', task='DigitsDet',
                losses=[dict(kd_key='student.loss_cls', abs_diff=0.0, agrees=True),
                        dict(kd_key='distill.fpn', abs_diff=2.4e-7, agrees=True)],
                time=dict(median=0.7612, min=0.7401, max=0.7899, kd_ms=101.23, mm_ms=133.0),
                memory=dict(ratio=0.5, kd=dict(bytes=50 * 2**20), mm=dict(bytes=100 * 2**20)),
                notes='n')
    base.update(kw)
    return base


def test_table_row_and_format_table():
    assert table_row(_result()) == (
        '| CWD | DigitsDet | equal (2.4e-07) | 0.76 (0.74-0.79) | 101.2 | 133.0 | '
        '0.50 (50 / 100 MiB) | n |')
    bad = _result(losses=[dict(kd_key='distill.logits', abs_diff=35.7, agrees=False)],
                  memory={})
    assert table_row(bad).startswith('| CWD | DigitsDet | differ: distill.logits (3.6e+01) |')
    assert ' | - | n |' in table_row(bad)
    assert table_row(dict(method='X', task='DigitsCls', error='KeyError: a')) == (
        '| X | DigitsCls | - | - | - | - | - | failed: KeyError: a |')
    text = format_table([_result()])
    assert text.splitlines()[:2] == TABLE_HEADER.splitlines()
    assert len(text.splitlines()) == 3


def test_replace_block():
    text = 'a\n<!-- b -->\nold\n<!-- e -->\nz\n'
    assert replace_block(text, '\nnew\n', '<!-- b -->', '<!-- e -->') == (
        'a\n<!-- b -->\nnew\n<!-- e -->\nz\n')
    with pytest.raises(ValueError, match='must both be in the text'):
        replace_block('a <!-- e --> <!-- b -->', 'x', '<!-- b -->', '<!-- e -->')


# ------------------------------------------------------------------ the tool
def test_module_does_not_import_mmrazor():
    code = ('import sys, kd.benchmark_mmrazor; '
            'assert not [m for m in sys.modules if m.startswith("mmrazor")]')
    subprocess.run([sys.executable, '-c', code], check=True, cwd=ROOT)


def test_stub_module_gives_dummy_classes(monkeypatch):
    tool = _tool()
    name = 'kd_test_fake_pkg.quantization'
    monkeypatch.delitem(sys.modules, name, raising=False)
    assert tool.install_stubs([name, 'os']) == [name]   # an imported module is left alone
    stub = sys.modules[name]
    cls = stub.BackendConfig
    assert isinstance(cls, type) and stub.BackendConfig is cls
    obj = cls(1, 2, key=3)
    assert obj(4) is obj
    with pytest.raises(AttributeError):
        stub.__wrapped__   # dunder lookups are not stubbed
    namespace = {}
    exec(f'from {name} import *', namespace)  # noqa: S102  (nothing is exported)
    assert set(namespace) == {'__builtins__'}


def test_missing_mmrazor_says_how_to_install(tmp_path, monkeypatch):
    tool = _tool()
    with pytest.raises(SystemExit) as err:          # --mmrazor-path without the package
        tool.mmrazor_child(['--methods', 'cwd'], str(tmp_path))
    assert 'pip install --no-deps' in str(err.value) and str(tmp_path) in str(err.value)
    assert 'comparison only' in str(err.value) and 'PYTHONPATH=' in str(err.value)
    # nothing on the module path: the message says how to put it there
    monkeypatch.setattr(tool.importlib.util, 'find_spec', lambda name: None)
    path_before = list(sys.path)
    with pytest.raises(SystemExit) as err:
        tool.import_mmrazor()
    assert 'PYTHONPATH=' in str(err.value) and 'pip install --no-deps' in str(err.value)
    assert sys.path == path_before


def test_mmrazor_path_reruns_the_tool_with_pythonpath_and_never_edits_sys_path(tmp_path):
    tool = _tool()
    (tmp_path / 'mmrazor').mkdir()
    cmd, env = tool.mmrazor_child(
        ['--methods', 'cwd', '--mmrazor-path', str(tmp_path), '--iters', '2',
         f'--mmrazor-path={tmp_path}'], str(tmp_path), environ={'PYTHONPATH': '/a:/b', 'X': '1'})
    assert cmd[0] == sys.executable and cmd[1] == str(TOOL)
    assert cmd[2:] == ['--methods', 'cwd', '--iters', '2']
    assert env['PYTHONPATH'] == os.pathsep.join([str(tmp_path), '/a', '/b'])
    assert env[tool.CHILD_ENV] == '1' and env['X'] == '1'
    _, env = tool.mmrazor_child([], str(tmp_path), environ={})
    assert env['PYTHONPATH'] == str(tmp_path)
    # the tool's source adds nothing to sys.path anywhere
    assert 'sys.path.insert' not in TOOL.read_text() and 'sys.path.append' not in TOOL.read_text()


def test_help_says_comparison_only(capsys):
    tool = _tool()
    with pytest.raises(SystemExit):
        tool.parse_args(['--help'])
    out = capsys.readouterr().out
    assert 'MMRazor is imported by this tool for the comparison only' in out
    assert '--mmrazor-path' in out


def test_method_specs_build_consistent_mmrazor_configs():
    tool = _tool()
    conn = types.SimpleNamespace(in_channels=32, out_channels=64)
    loss = types.SimpleNamespace(in_channels=64, student_channels=32, teacher_channels=64,
                                 lambda_mgd=0.65, alpha_mgd=2e-5)
    kd_model = types.SimpleNamespace(entries={'fpn': types.SimpleNamespace(
        connectors=[conn] * 3, losses=[loss] * 3, num_levels=3, levels=None)})
    ctx = tool.Context(kd_model, batch_size=16)
    specs = tool.methods()
    assert {'kd', 'dkd', 'dkd_mean', 'dist', 'wsld', 'rkd', 'fitnets', 'at', 'cwd', 'pkd',
            'mgd', 'fbkd'} == set(specs)
    for key, m in specs.items():
        assert (ROOT / m.kd_config).is_file(), m.kd_config
        cfg = m.distiller(ctx)
        assert cfg['type'] == 'ConfigurableDistiller'
        assert set(cfg['loss_forward_mappings']) == set(cfg['distill_losses'])
        assert all('loss' in name for name in cfg['distill_losses'])  # summed by parse_losses
        for mapping in cfg['loss_forward_mappings'].values():
            for arg in mapping.values():
                side = 'student_recorders' if arg['from_student'] else 'teacher_recorders'
                assert arg['recorder'] in cfg[side]
                assert arg.get('connector') is None or arg['connector'] in cfg['connectors']
    cwd = specs['cwd'].distiller(ctx)
    assert cwd['connectors']['fpn2_s'] == dict(type='ConvModuleConnector', in_channel=32,
                                               out_channel=64, kernel_size=1, norm_cfg=None,
                                               act_cfg=None)
    assert cwd['loss_forward_mappings']['loss_fpn1'] == dict(
        preds_S=dict(from_student=True, recorder='fpn', data_idx=1, connector='fpn1_s'),
        preds_T=dict(from_student=False, recorder='fpn', data_idx=1))
    assert specs['cwd'].rules(ctx)[0] == ('entries.fpn.connectors.0.conv.',
                                          'distiller.connectors.fpn0_s.conv_module.conv.')
    fbkd = dict(specs['fbkd'].rules(ctx))
    assert fbkd['entries.fpn.losses.2.teacher_non_local.'] == \
        'distiller.connectors.fpn2_t.teacher_non_local.'
    assert specs['dkd_mean'].accounting(ctx, None).factor == 1 / 16
    # kd's levels=[1, 2]: two MMRazor losses on FPN outputs 1 and 2
    kd_model.entries['fpn'].num_levels, kd_model.entries['fpn'].levels = 2, [1, 2]
    two = specs['at'].distiller(ctx)['loss_forward_mappings']
    assert [m['s_feature']['data_idx'] for m in two.values()] == [1, 2]


@pytest.mark.skipif(not os.path.isdir(os.path.join(MMRAZOR_PATH, 'mmrazor')),
                    reason=f'MMRazor 1.0.0 is not installed in {MMRAZOR_PATH} '
                           f'(pip install --no-deps --target {MMRAZOR_PATH} mmrazor==1.0.0)')
def test_end_to_end_with_mmrazor(tmp_path):
    pytest.importorskip('mmdet')
    doc = tmp_path / 'doc.md'
    doc.write_text('# t\n<!-- mmrazor-compare:begin -->\nold\n<!-- mmrazor-compare:end -->\n')
    out = tmp_path / 'r.json'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=MMRAZOR_PATH)   # as docs/benchmark.md
    proc = subprocess.run(
        [sys.executable, str(TOOL), '--methods', 'cwd', 'wsld', 'dkd_mean', '--iters', '1',
         '--warmup', '0', '--repeats', '1', '--batch-size', '2', '--input-size', '64', '64',
         '--boxes', '3', '--out', str(out),
         '--write-doc', str(doc)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'comparison only' in proc.stdout
    results = {r['method']: r for r in json.loads(out.read_text())['results']}
    assert set(results) == {'CWD', 'WSLD', "DKD, MMRazor's reduction='mean'"}
    for r in results.values():
        assert 'error' not in r, r.get('error')
        assert all(row['agrees'] for row in r['losses']), r['losses']
        assert r['grad']['relative'] < 1e-4
        assert r['memory']['kd']['bytes'] > 0 and r['memory']['mm']['bytes'] > 0
    assert results['CWD']['copied_tensors'] > 100
    wsld = {row['kd_key']: row for row in results['WSLD']['losses']}
    assert wsld['distill.logits']['offset'] < 0 and wsld['student.loss_cls']['offset'] == 0
    assert "DKD, MMRazor's reduction='mean'" in doc.read_text() and 'old' not in doc.read_text()
    assert f'Command: `PYTHONPATH={MMRAZOR_PATH} python tools/' in doc.read_text()
