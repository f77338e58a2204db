"""kd against MMRazor 1.0.0 on the same recipes: losses, step time, peak memory.

    PYTHONPATH=/work/scratch/mmrazor_pkg nice -n 15 env OMP_NUM_THREADS=1 \\
        python tools/analysis_tools/mmrazor_compare.py \\
        [--methods cwd kd ...] [--iters 10] [--warmup 3] [--repeats 5] \\
        [--out result.json] [--write-doc docs/benchmark.md]

MMRazor is imported by this tool for the comparison only; kd itself never imports
it. Install it into a scratch folder without its dependencies,

    pip install --no-deps --target /work/scratch/mmrazor_pkg mmrazor==1.0.0

and put that folder on ``PYTHONPATH`` for this command only (as above). The tool
never changes ``sys.path``; ``--mmrazor-path FOLDER`` is a shorthand that runs the
same command again in a child process whose ``PYTHONPATH`` starts with FOLDER (the
parent imports no MMRazor). Before importing ``mmrazor.models`` it registers stub
modules for
``mmrazor.structures.quantization`` and ``...quantization.backend_config``
(their quantization code needs ``torch.ao`` internals that torch 2.13 no longer
has; the distillation code never uses them). ``--stub MODULE`` stubs more.

For every method both toolboxes have, one process builds the kd recipe of
``configs/<method>/`` (teacher randomly initialised) and the same recipe as an
MMRazor ``SingleTeacherDistill`` + ``ConfigurableDistiller`` (recorders on the same
modules, a 1x1-conv ``ConvModuleConnector`` where kd's recipe has a
``ConvConnector``, one MMRazor loss per FPN level where kd has one entry over the
levels), copies kd's weights into it (student, teacher, connectors, the losses'
own layers; strictly, every tensor), makes one synthetic batch
(``benchmark.py``'s) and reports:

* both toolboxes' losses on that batch, task and distillation, after the
  reduction accounting ``kd = factor * MMRazor + offset`` of each method, and the
  largest difference of the student's gradients (MMRazor's distill losses
  multiplied by the same factor);
* the median step-time ratio kd / MMRazor: after ``--warmup`` steps each,
  ``--repeats`` rounds of ``--iters`` steps of each toolbox, interleaved step by
  step (kd, MMRazor, MMRazor, kd, ...; ``--interleave round``: the toolboxes take
  turns per round), the ratio of the two medians per round; a step is ``loss`` ->
  ``parse_losses`` -> ``zero_grad`` -> backward -> SGD step (``lr=0``, momentum 0.9)
  over the trainable parameters;
* the peak-memory ratio: one step of each under ``torch.profiler`` with
  ``profile_memory=True``; the peak of the running sum of the allocator's CPU
  allocation events above the step's start (live tensor bytes, not RSS). On CUDA,
  ``max_memory_allocated`` above the start.

stdout gets the Markdown table (``docs/benchmark.md``); progress goes to stderr.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import importlib.util
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time
import traceback
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from kd.benchmark_mmrazor import (
    Accounting,
    copy_weights,
    flatten_losses,
    format_table,
    match_losses,
    max_grad_diff,
    peak_growth,
    ratio_stats,
    replace_block,
    wsld_entropy_offset,
)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

EXAMPLE_MMRAZOR_PATH = '/work/scratch/mmrazor_pkg'
# set in the child process that --mmrazor-path starts (it must not start another)
CHILD_ENV = 'KD_MMRAZOR_COMPARE_CHILD'
STUB_MODULES = ('mmrazor.structures.quantization',
                'mmrazor.structures.quantization.backend_config')
ONLY_FOR_COMPARISON = ('MMRazor is imported by this tool for the comparison only; kd itself '
                       'never imports it.')
DOC_BEGIN = '<!-- mmrazor-compare:begin -->'
DOC_END = '<!-- mmrazor-compare:end -->'
LEVELS = 3   # FPN levels of the DigitsDet RetinaNet recipes (strides 8, 16, 32)


def log(msg: str) -> None:
    print(f'[mmrazor_compare {time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)


# ------------------------------------------------------------ importing MMRazor
class _Dummy:
    """Stands for any class of a stubbed module: accepts any arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> '_Dummy':
        return self


class StubModule(types.ModuleType):
    """A module whose every public attribute is a new dummy class (cached).

    ``from stub import *`` gives nothing (``__all__`` is empty); a package path is
    set so that ``import stub.sub`` resolves through ``sys.modules``.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name, 'stub registered by mmrazor_compare.py')
        self.__path__: List[str] = []
        self.__all__: List[str] = []

    def __getattr__(self, name: str) -> type:
        if name.startswith('__'):
            raise AttributeError(name)
        cls = type(name, (_Dummy, ), {'__module__': self.__name__})
        setattr(self, name, cls)
        return cls


def install_stubs(names: Sequence[str]) -> List[str]:
    """Register a :class:`StubModule` for each name not imported yet; returns them."""
    done = []
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = StubModule(name)
            done.append(name)
    return done


def _install_hint(path: str) -> str:
    return (f'{ONLY_FOR_COMPARISON} Install it into a scratch folder with\n    pip install '
            f'--no-deps --target {path} mmrazor==1.0.0\nand put that folder on PYTHONPATH '
            f'for this command only:\n    PYTHONPATH={path} python '
            f'tools/analysis_tools/mmrazor_compare.py ...\n(or pass --mmrazor-path {path}).')


def mmrazor_child(argv: Sequence[str], path: str,
                  environ: Optional[Dict[str, str]] = None) -> Tuple[List[str], Dict[str, str]]:
    """The command and environment that rerun this tool with ``path`` on ``PYTHONPATH``.

    ``--mmrazor-path`` and its value are dropped from ``argv``; ``PYTHONPATH`` gets
    ``path`` in front of what it held; :data:`CHILD_ENV` marks the child.

    Raises:
        SystemExit: there is no ``mmrazor`` package in ``path``.
    """
    if not osp.isdir(osp.join(path, 'mmrazor')):
        raise SystemExit(f'mmrazor_compare: no MMRazor package in {path!r} (no {path}/mmrazor '
                         f'folder). {_install_hint(path)}')
    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == '--mmrazor-path':
            skip = True
        elif not arg.startswith('--mmrazor-path='):
            rest.append(arg)
    env = dict(os.environ if environ is None else environ)
    env['PYTHONPATH'] = os.pathsep.join([path] + [p for p in env.get(
        'PYTHONPATH', '').split(os.pathsep) if p])
    env[CHILD_ENV] = '1'
    return [sys.executable, osp.abspath(__file__)] + rest, env


def import_mmrazor(extra_stubs: Sequence[str] = ()) -> types.SimpleNamespace:
    """Import MMRazor 1.0.0 from the normal module path with the stubs.

    ``sys.path`` is not changed: MMRazor comes from ``PYTHONPATH`` (or an
    installed package). Returns the pieces the tool uses and the folder it was
    imported from.

    Raises:
        SystemExit: MMRazor is not importable or does not import (the cause and the
            fix are in the message).
    """
    if importlib.util.find_spec('mmrazor') is None:
        raise SystemExit(f'mmrazor_compare: MMRazor is not importable (PYTHONPATH='
                         f'{os.environ.get("PYTHONPATH", "")!r}). '
                         f'{_install_hint(EXAMPLE_MMRAZOR_PATH)}')
    install_stubs(list(STUB_MODULES) + list(extra_stubs))
    try:
        import mmrazor
        from mmrazor.models import SingleTeacherDistill
    except Exception as err:  # noqa: BLE001  (reported with the fix)
        name = getattr(err, 'name', None)
        raise SystemExit(
            f'mmrazor_compare: MMRazor does not import on torch '
            f'{torch.__version__}: {type(err).__name__}: {err}\n'
            f'{traceback.format_exc(limit=-3)}'
            f'If the failing module is quantization code the distillers do not need, stub '
            f'it: --stub {name or "MODULE.NAME"} (stubbed already: {list(STUB_MODULES)}).')
    version = getattr(mmrazor, '__version__', '?')
    path = osp.dirname(osp.dirname(osp.abspath(mmrazor.__file__)))
    if version != '1.0.0':
        log(f'warning: MMRazor {version} in {path}, the comparison was written for 1.0.0')
    return types.SimpleNamespace(version=version, SingleTeacherDistill=SingleTeacherDistill,
                                 path=path)


# ------------------------------------------------------------------ the methods
Rules = List[Tuple[str, Optional[str]]]
BASE_RULES: Rules = [('student.', 'architecture.'), ('teacher.', 'teacher.')]


@dataclass
class Context:
    """What a method spec needs from the built kd distiller and the batch."""
    kd_model: Any
    batch_size: int

    @property
    def levels(self) -> int:
        """Distilled FPN levels of kd's ``fpn`` entry (its probe counted them)."""
        return getattr(self.kd_model.entries['fpn'], 'num_levels', None) or LEVELS

    def data_idx(self, i: int) -> int:
        """The FPN output index of kd's ``i``-th distilled level (``levels=[...]``)."""
        chosen = getattr(self.kd_model.entries['fpn'], 'levels', None)
        return int(chosen[i]) if chosen else i

    def fpn_connector(self, level: int):
        return self.kd_model.entries['fpn'].connectors[level]

    def fpn_loss(self, level: int):
        return self.kd_model.entries['fpn'].losses[level]


@dataclass
class Method:
    """One method both toolboxes have: the kd recipe and the MMRazor distiller for it.

    Args:
        name: the method's name in the table.
        task: ``DigitsDet`` or ``DigitsCls``.
        key: its name for ``--methods``.
        kd_config: the kd recipe (``configs/<method>/...``).
        cfg_options: overrides applied to it for the comparison (said in the notes).
        entry: kd's distill entry (``distill.<entry>`` in its loss dict).
        distiller: ``Context -> ConfigurableDistiller`` config (MMRazor names).
        rules: ``Context -> renaming rules`` for kd's entry weights (connectors and
            the losses' own layers), added to the student/teacher rules.
        accounting: ``(Context, MMRazor algorithm) -> Accounting`` of the entry.
        notes: said in the table.
        paper: which side follows the paper where the values differ.
    """
    name: str
    task: str
    key: str
    kd_config: str
    entry: str
    distiller: Callable[[Context], dict]
    cfg_options: List[str] = field(default_factory=list)
    rules: Callable[[Context], Rules] = lambda ctx: []
    accounting: Callable[[Context, Any], Accounting] = lambda ctx, algo: Accounting()
    notes: str = ''
    paper: str = ''


# ---- DigitsDet: FPN outputs, one MMRazor loss (and connector) per level
def _fpn_distiller(loss: Callable[[Context, int], dict], args: Tuple[str, str],
                   student_connector: Optional[Callable[[Context, int], Any]] = None,
                   teacher_connector: Optional[Callable[[Context, int], Any]] = None,
                   tag: str = 'fpn') -> Callable[[Context], dict]:
    def build(ctx: Context) -> dict:
        connectors, losses, mappings = {}, {}, {}
        for i in range(ctx.levels):
            s_arg = dict(from_student=True, recorder='fpn', data_idx=ctx.data_idx(i))
            t_arg = dict(from_student=False, recorder='fpn', data_idx=ctx.data_idx(i))
            if student_connector is not None:
                connectors[f'fpn{i}_s'] = student_connector(ctx, i)
                s_arg['connector'] = f'fpn{i}_s'
            if teacher_connector is not None:
                connectors[f'fpn{i}_t'] = teacher_connector(ctx, i)
                t_arg['connector'] = f'fpn{i}_t'
            losses[f'loss_{tag}{i}'] = loss(ctx, i)
            mappings[f'loss_{tag}{i}'] = {args[0]: s_arg, args[1]: t_arg}
        return dict(type='ConfigurableDistiller',
                    student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
                    teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
                    connectors=connectors, distill_losses=losses,
                    loss_forward_mappings=mappings)
    return build


def _conv_connector(ctx: Context, i: int) -> dict:
    """MMRazor's 1x1 conv (bias, no norm, no activation) for kd's ``ConvConnector``."""
    c = ctx.fpn_connector(i)
    return dict(type='ConvModuleConnector', in_channel=c.in_channels,
                out_channel=c.out_channels, kernel_size=1, norm_cfg=None, act_cfg=None)


def _conv_rules(ctx: Context) -> Rules:
    return [(f'entries.fpn.connectors.{i}.conv.',
             f'distiller.connectors.fpn{i}_s.conv_module.conv.') for i in range(ctx.levels)]


def _mgd_connector(ctx: Context, i: int) -> dict:
    loss = ctx.fpn_loss(i)
    return dict(type='MGDConnector', student_channels=loss.student_channels,
                teacher_channels=loss.teacher_channels, lambda_mgd=loss.lambda_mgd)


def _mgd_rules(ctx: Context) -> Rules:
    return [(f'entries.fpn.losses.{i}.', f'distiller.connectors.fpn{i}_s.')
            for i in range(ctx.levels)]


def _fbkd_student(ctx: Context, i: int) -> list:
    return [_conv_connector(ctx, i),
            dict(type='FBKDStudentConnector', in_channels=ctx.fpn_loss(i).in_channels,
                 mode='dot_product', sub_sample=False)]


def _fbkd_teacher(ctx: Context, i: int) -> dict:
    return dict(type='FBKDTeacherConnector', in_channels=ctx.fpn_loss(i).in_channels,
                mode='dot_product', sub_sample=False)


def _fbkd_rules(ctx: Context) -> Rules:
    rules: Rules = []
    for i in range(ctx.levels):
        k, s = f'entries.fpn.losses.{i}.', f'distiller.connectors.fpn{i}_s.1.'
        rules += [(f'entries.fpn.connectors.{i}.conv.',
                   f'distiller.connectors.fpn{i}_s.0.conv_module.conv.'),
                  (k + 'feature_adaptation.', s + 'adaptation_layers.'),
                  (k + 'channel_adaptation.', s + 'channel_wise_adaptation.'),
                  (k + 'spatial_adaptation.', s + 'spatial_wise_adaptation.'),
                  (k + 'student_non_local.', s + 'student_non_local.'),
                  (k + 'non_local_adaptation.', s + 'non_local_adaptation.'),
                  (k + 'teacher_non_local.', f'distiller.connectors.fpn{i}_t.teacher_non_local.')]
    return rules


# ---- DigitsCls: logits of head.fc (labels recorded where kd's head collects them)
LABELS_SOURCE = 'kd.models.heads.linear_head.gt_labels_of'


def _logits_distiller(loss: dict, args: Tuple[str, ...], labels: bool = False,
                      record: str = 'ModuleOutputs', data_idx: Optional[int] = None,
                      losses: Optional[Dict[str, dict]] = None) -> Callable[[Context], dict]:
    def build(ctx: Context) -> dict:
        student = dict(fc=dict(type=record, source='head.fc'))
        if labels:   # the (N,) label tensor kd's LinearClsHead builds for its CE
            student['gt_labels'] = dict(type='FunctionOutputs', source=LABELS_SOURCE)
        s_arg = dict(from_student=True, recorder='fc')
        t_arg = dict(from_student=False, recorder='fc')
        if data_idx is not None:
            s_arg['data_idx'] = t_arg['data_idx'] = data_idx
        named = losses or {'loss_kd': loss}
        mappings = {}
        for key in named:
            mapping = {args[0]: dict(s_arg), args[1]: dict(t_arg)}
            if labels:
                mapping[args[2]] = dict(from_student=True, recorder='gt_labels')
            mappings[key] = mapping
        return dict(type='ConfigurableDistiller', student_recorders=student,
                    teacher_recorders=dict(fc=dict(type=record, source='head.fc')),
                    distill_losses=named, loss_forward_mappings=mappings)
    return build


def _dkd_sum_accounting(ctx: Context, algo: Any) -> Accounting:
    return Accounting(factor=1.0 / ctx.batch_size,
                      why=f'x 1/N (N={ctx.batch_size}): MMRazor sums over the batch')


def _wsld_accounting(ctx: Context, algo: Any) -> Accounting:
    d = algo.distiller
    s = d.student_recorders.get_recorder('fc').get_record_data()
    t = d.teacher_recorders.get_recorder('fc').get_record_data()
    y = d.student_recorders.get_recorder('gt_labels').get_record_data()
    loss = ctx.kd_model.entries['logits'].losses[0]
    offset = wsld_entropy_offset(s, t, y, loss.tau, loss.loss_weight)
    return Accounting(offset=offset,
                      why=f'{offset:+.4f}: minus the weighted teacher entropy')


def methods() -> Dict[str, Method]:
    """The methods both toolboxes have, with their kd recipe and MMRazor distiller."""
    det, cls = 'DigitsDet', 'DigitsCls'
    conv = dict(student_connector=_conv_connector)
    out = [
        Method('KD', cls, 'kd', 'configs/kd/kd_resnet_digits_cls.py', 'logits',
               _logits_distiller(dict(type='KLDivergence', tau=4.0, loss_weight=1.0,
                                      reduction='batchmean'), ('preds_S', 'preds_T')),
               notes='KLDivergence(batchmean)'),
        Method('DKD', cls, 'dkd', 'configs/dkd/dkd_resnet_digits_cls.py', 'logits',
               _logits_distiller(dict(type='DKDLoss', tau=4.0, alpha=1.0, beta=8.0,
                                      reduction='batchmean', loss_weight=1.0),
                                 ('preds_S', 'preds_T', 'gt_labels'), labels=True),
               cfg_options=['model.distill.logits.loss.warmup_iters=0'],
               notes="kd warm-up off (MMRazor has none); MMRazor reduction='batchmean'"),
        Method("DKD, MMRazor's reduction='mean'", cls, 'dkd_mean',
               'configs/dkd/dkd_resnet_digits_cls.py', 'logits',
               _logits_distiller(dict(type='DKDLoss', tau=4.0, alpha=1.0, beta=8.0,
                                      reduction='mean', loss_weight=1.0),
                                 ('preds_S', 'preds_T', 'gt_labels'), labels=True),
               cfg_options=['model.distill.logits.loss.warmup_iters=0'],
               accounting=_dkd_sum_accounting,
               notes="the reduction of MMRazor's own DKD recipe",
               paper="DKD with MMRazor's reduction='mean' (its ImageNet recipe): kd follows "
                     "the paper's code (mdistiller: summed KL / batch size); MMRazor's "
                     "`F.kl_div(..., size_average=False, reduction=...)` takes the legacy "
                     "`size_average=False`, which overrides `reduction` with 'sum' ('batchmean' "
                     "still divides by N afterwards, 'mean' and 'none' do not), so that recipe's "
                     "loss is N times the paper's"),
        Method('DIST', cls, 'dist', 'configs/dist/dist_resnet_digits_cls.py', 'logits',
               _logits_distiller(dict(type='DISTLoss', inter_loss_weight=2.0,
                                      intra_loss_weight=2.0, tau=4.0, loss_weight=1.0),
                                 ('logits_S', 'logits_T'))),
        Method('WSLD', cls, 'wsld', 'configs/wsld/wsld_resnet_digits_cls.py', 'logits',
               _logits_distiller(dict(type='WSLD', tau=4.0, loss_weight=2.25, num_classes=10),
                                 ('student', 'teacher', 'gt_labels'), labels=True),
               accounting=_wsld_accounting,
               paper='WSLD: MMRazor\'s value is that of the authors\' released code '
                     '(bellymonster/Weighted-Soft-Label-Distillation, wsl.py: the weighted '
                     'soft cross-entropy -sum p_t log p_s); kd weights the KL divergence '
                     'instead. Same weight w_n, same tau**2 and batch mean; the two differ by '
                     'w_n H(p_t), which does not depend on the student: the gradients are the '
                     'same (checked here) and only the logged value differs (kd\'s is 0 when '
                     'the student matches the teacher)'),
        Method('RKD', cls, 'rkd', 'configs/rkd/rkd_resnet_digits_cls.py', 'embedding',
               _logits_distiller(None, ('preds_S', 'preds_T'), record='ModuleInputs',
                                 data_idx=0, losses=dict(
                                     loss_rkd_dist=dict(type='DistanceWiseRKD', loss_weight=25.0,
                                                        with_l2_norm=False),
                                     loss_rkd_angle=dict(type='AngleWiseRKD', loss_weight=50.0,
                                                         with_l2_norm=False))),
               notes='head.fc inputs; MMRazor with_l2_norm=False (its default True '
                     'normalises the embeddings, kd and RepDistiller do not)'),
        Method('FitNets', det, 'fitnets', 'configs/fitnets/fitnets_retinanet_digits.py', 'fpn',
               _fpn_distiller(lambda c, i: dict(type='L2Loss', loss_weight=0.2,
                                                normalize=False, div_element=True),
                              ('s_feature', 't_feature'), **conv),
               rules=_conv_rules, notes='L2Loss(normalize=False, div_element=True)'),
        Method('AT', det, 'at', 'configs/at/at_retinanet_digits.py', 'fpn',
               _fpn_distiller(lambda c, i: dict(type='ATLoss', loss_weight=100.0),
                              ('s_feature', 't_feature')),
               notes='no connector (channels may differ)'),
        Method('CWD', det, 'cwd', 'configs/cwd/cwd_retinanet_digits.py', 'fpn',
               _fpn_distiller(lambda c, i: dict(type='ChannelWiseDivergence', tau=1.0,
                                                loss_weight=1.0),
                              ('preds_S', 'preds_T'), **conv),
               rules=_conv_rules),
        Method('PKD', det, 'pkd', 'configs/pkd/pkd_retinanet_digits.py', 'fpn',
               _fpn_distiller(lambda c, i: dict(type='PKDLoss', loss_weight=0.5),
                              ('preds_S', 'preds_T'), **conv),
               rules=_conv_rules),
        Method('MGD', det, 'mgd', 'configs/mgd/mgd_retinanet_digits.py', 'fpn',
               _fpn_distiller(lambda c, i: dict(type='MGDLoss', alpha_mgd=c.fpn_loss(i).alpha_mgd),
                              ('preds_S', 'preds_T'), student_connector=_mgd_connector),
               rules=_mgd_rules,
               notes='MGDConnector = kd loss\'s align + generation; same masks (same seed)'),
        Method('FBKD', det, 'fbkd', 'configs/fbkd/fbkd_retinanet_digits.py', 'fpn',
               _fpn_distiller(lambda c, i: dict(type='FBKDLoss'), ('s_input', 't_input'),
                              student_connector=_fbkd_student,
                              teacher_connector=_fbkd_teacher),
               rules=_fbkd_rules,
               notes='1x1 conv then FBKDStudentConnector; FBKDTeacherConnector'),
    ]
    return {m.key: m for m in out}


# Methods one toolbox has and the other has not (said in the output).
NOT_SHARED = {
    'NST, SP, PKT, ICKD, VID, IRG, FGD, LD, DETR KD, CrossKD, CTKD, MLKD, DOT, logit '
    'standardisation (kd)': 'MMRazor 1.0.0 registers no such loss',
    'ABLoss, OFD, FT (factor transfer), DAFL/DFAD/ZSKT (data-free) (MMRazor)':
        'kd has no such loss',
    'CRD, BYOT (both)':
        'not compared: CRD draws negatives from a memory bank (different sampling), BYOT '
        'uses a different distiller (BYOTDistiller) in MMRazor',
    'logits L1 / MSE (kd LogitsL1Loss, LogitsMSELoss; MMRazor L1Loss / L2Loss on logits)':
        'not compared; MMRazor\'s L2Loss is compared on features in the FitNets row',
    'soft-target CE (kd SoftCrossEntropyLoss / MMRazor KDSoftCELoss)':
        'not compared: MMRazor\'s loss needs mmcls, which is not installed',
}


# ------------------------------------------------------------------ building
def _load_benchmark_module():
    spec = importlib.util.spec_from_file_location(
        'kd_benchmark_tool', osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build_fresh(spec: Any, scope: Optional[str]):
    """A new model from a kd model spec (a config dict or ``dict(config=PATH)``)."""
    from mmengine.registry import DefaultScope

    from kd.distillers.builder import build_model, model_cfg_and_scope
    model_cfg, own_scope, _ = model_cfg_and_scope(spec, ROOT)
    scope = own_scope or scope
    with DefaultScope.overwrite_default_scope(scope or 'kd'):
        return build_model(model_cfg, scope)


def kd_full_state(kd_model) -> Dict[str, torch.Tensor]:
    """kd's state dict plus its teacher's (``teacher.*``; kd keeps it out of its own)."""
    state = dict(kd_model.state_dict())
    teachers = kd_model.teacher_side.models()
    if len(teachers) != 1:
        raise ValueError(f'the comparison is for one teacher, the kd recipe has {len(teachers)}')
    teacher = next(iter(teachers.values()))
    state.update({f'teacher.{k}': v for k, v in teacher.state_dict().items()})
    return state


@dataclass
class Pair:
    method: Method
    kd: Any
    mm: Any
    ctx: Context
    rules: Rules
    inputs: torch.Tensor
    samples: list
    copied: int


def build_pair(method: Method, mm: types.SimpleNamespace, bench, args) -> Pair:
    from mmengine.registry import DefaultScope
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    cfg, kd_model = bench.build_distiller(osp.join(ROOT, method.kd_config),
                                          method.cfg_options)
    detection = bench.is_detector(kd_model)
    batch = (args.batch_size or int(cfg.train_dataloader.batch_size))
    ctx = Context(kd_model, batch)
    scope = cfg.get('default_scope', 'kd')
    student = _build_fresh(cfg.model.student, scope)
    teacher = _build_fresh(cfg.model.teacher, scope)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        algo = mm.SingleTeacherDistill(architecture=student, teacher=teacher,
                                       distiller=method.distiller(ctx))
    rules = BASE_RULES + method.rules(ctx)
    copied = copy_weights(kd_full_state(kd_model), algo, rules)
    kd_model.to(device).train()
    algo.to(device).train()
    size = list(args.input_size) if args.input_size else bench.default_input_size(cfg)
    inputs, samples = bench.make_batch(kd_model, detection, batch, size, args.boxes, device,
                                       args.seed)
    return Pair(method, kd_model, algo, ctx, rules, inputs, samples, copied)


# ------------------------------------------------------------------ checks
def _named_grads(model) -> Dict[str, Optional[torch.Tensor]]:
    return {n: (None if p.grad is None else p.grad.detach().clone())
            for n, p in model.named_parameters() if p.requires_grad}


def compare_losses(pair: Pair, seed: int, tol: float) -> Dict[str, Any]:
    """Both toolboxes' losses on the batch (same RNG state) and the student's gradients."""
    m, kd, algo = pair.method, pair.kd, pair.mm
    torch.manual_seed(seed)
    kd_losses = kd.loss(pair.inputs, pair.samples)
    torch.manual_seed(seed)
    mm_losses = algo.loss(pair.inputs, pair.samples)
    acc = m.accounting(pair.ctx, algo)
    kd_flat, mm_flat = flatten_losses(kd_losses), flatten_losses(mm_losses)
    distill_keys = [k for k in mm_flat if k.startswith('distill.')]
    rows = match_losses(kd_flat, mm_flat, {f'distill.{m.entry}': distill_keys},
                        {f'distill.{m.entry}': acc})
    # gradients: kd's total against MMRazor's with its distill losses scaled by the factor
    kd_total, _ = kd.parse_losses(kd_losses)
    mm_total = sum(_sum(v) * (acc.factor if k.startswith('distill.') else 1.0)
                   for k, v in mm_losses.items() if 'loss' in k)
    kd.zero_grad(set_to_none=True)
    algo.zero_grad(set_to_none=True)
    kd_total.backward()
    mm_total.backward()
    gdiff, gscale = max_grad_diff(_named_grads(kd), _named_grads(algo), pair.rules)
    kd.zero_grad(set_to_none=True)
    algo.zero_grad(set_to_none=True)
    return dict(losses=[dict(kd_key=r.kd_key, mm_keys=r.mm_keys, kd=r.kd, mm=r.mm,
                             mm_accounted=r.mm_accounted, abs_diff=r.abs_diff,
                             agrees=r.agrees(tol), factor=r.accounting.factor,
                             offset=r.accounting.offset, why=r.accounting.why)
                        for r in rows],
                grad=dict(max_abs_diff=gdiff, max_abs=gscale,
                          relative=gdiff / gscale if gscale else 0.0))


def _sum(value):
    if isinstance(value, (list, tuple)):
        return sum(value)
    return value


# ------------------------------------------------------------------ timing
class Stepper:
    """One training step of a model: loss -> parse_losses -> zero_grad -> backward -> SGD."""

    def __init__(self, model, inputs, samples, lr: float = 0.0) -> None:
        self.model, self.inputs, self.samples = model, inputs, samples
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.opt = torch.optim.SGD(self.params, lr=lr, momentum=0.9)

    def __call__(self) -> None:
        losses = self.model.loss(self.inputs, self.samples)
        loss, _ = self.model.parse_losses(losses)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    @property
    def num_params(self) -> int:
        return int(sum(p.numel() for p in self.params))


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_steps(step: Callable[[], None], n: int, device: torch.device) -> List[float]:
    out = []
    for _ in range(n):
        _sync(device)
        start = time.perf_counter()
        step()
        _sync(device)
        out.append((time.perf_counter() - start) * 1e3)
    return out


def peak_memory(step: Callable[[], None], device: torch.device) -> Dict[str, Any]:
    """Peak allocated bytes of one step above its start (profiler events / CUDA stats)."""
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        step()
        torch.cuda.synchronize(device)
        return dict(bytes=torch.cuda.max_memory_allocated(device) - base,
                    method='cuda max_memory_allocated - allocated before')
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    try:
        raw = prof.profiler.kineto_results.events()
        events = [(e.start_ns(), e.nbytes()) for e in raw
                  if e.name() == '[memory]' and str(e.device_type()).endswith('CPU')]
    except AttributeError as err:
        return dict(bytes=None, method=f'profiler memory events unavailable on torch '
                                       f'{torch.__version__}: {err}')
    peak, end = peak_growth(events)
    return dict(bytes=peak, end_bytes=end, events=len(events),
                method='torch.profiler CPU allocation events: peak running sum above the '
                       'step start')


def measure(pair: Pair, args) -> Dict[str, Any]:
    device = torch.device(args.device)
    kd_step = Stepper(pair.kd, pair.inputs, pair.samples)
    mm_step = Stepper(pair.mm, pair.inputs, pair.samples)
    if kd_step.num_params != mm_step.num_params:
        raise RuntimeError(f'{pair.method.name}: kd trains {kd_step.num_params} parameters, '
                           f'MMRazor {mm_step.num_params}; the recipes are not the same')
    for _ in range(args.warmup):
        kd_step()
        mm_step()
    memory: Dict[str, Any] = {}
    if not args.no_memory:
        memory = dict(kd=peak_memory(kd_step, device), mm=peak_memory(mm_step, device))
        kb, mb = memory['kd']['bytes'], memory['mm']['bytes']
        memory['ratio'] = kb / mb if kb is not None and mb else None
    kd_rounds: List[List[float]] = []
    mm_rounds: List[List[float]] = []
    for r in range(args.repeats):
        if args.interleave == 'step':   # kd, MMRazor, MMRazor, kd, kd, MMRazor, ...
            kd_times: List[float] = []
            mm_times: List[float] = []
            for i in range(args.iters):
                pairs = [(kd_times, kd_step), (mm_times, mm_step)]
                for times, step in (pairs if i % 2 == 0 else pairs[::-1]):
                    times.extend(time_steps(step, 1, device))
            kd_rounds.append(kd_times)
            mm_rounds.append(mm_times)
        else:                           # all kd steps of the round, then MMRazor's (or back)
            order = [(kd_rounds, kd_step), (mm_rounds, mm_step)]
            for rounds, step in (order if r % 2 == 0 else order[::-1]):
                rounds.append(time_steps(step, args.iters, device))
    stats = ratio_stats(kd_rounds, mm_rounds)
    stats.update(kd_rounds=kd_rounds, mm_rounds=mm_rounds, interleave=args.interleave)
    return dict(time=stats, memory=memory, params=kd_step.num_params)


def run_method(method: Method, mm, bench, args) -> Dict[str, Any]:
    t0 = time.perf_counter()
    pair = build_pair(method, mm, bench, args)
    log(f'{method.name}: built {method.kd_config} and its MMRazor twin, copied '
        f'{pair.copied} tensors ({time.perf_counter() - t0:.1f} s); teacher forward kd: '
        f'{getattr(pair.kd.teacher_side, "forward_mode", "?")}, MMRazor: loss mode')
    result = dict(method=method.name, task=method.task, kd_config=method.kd_config,
                  cfg_options=method.cfg_options, batch_size=pair.ctx.batch_size,
                  input_size=list(pair.inputs.shape[2:]), copied_tensors=pair.copied,
                  teacher_forward_kd=getattr(pair.kd.teacher_side, 'forward_mode', None),
                  paper=method.paper)
    result.update(compare_losses(pair, args.seed + 1, args.tol))
    for row in result['losses']:
        accounted = f' -> {row["mm_accounted"]:.7g} ({row["why"]})' if row['why'] else ''
        log(f'{method.name}: {row["kd_key"]}: kd {row["kd"]:.7g}, MMRazor {row["mm"]:.7g}'
            f'{accounted}, |diff| {row["abs_diff"]:.2e}')
    g = result['grad']
    log(f'{method.name}: student gradients: max |kd - MMRazor| {g["max_abs_diff"]:.2e} '
        f'(largest {g["max_abs"]:.2e})')
    result.update(measure(pair, args))
    t = result['time']
    mem = result['memory']
    log(f'{method.name}: step kd {t["kd_ms"]:.1f} ms, MMRazor {t["mm_ms"]:.1f} ms, ratio '
        f'{t["median"]:.3f} ({t["min"]:.3f}-{t["max"]:.3f})'
        + (f', peak memory kd {mem["kd"]["bytes"] / 2**20:.1f} MiB, MMRazor '
           f'{mem["mm"]["bytes"] / 2**20:.1f} MiB' if mem.get('ratio') else ''))
    notes = [n for n in (method.notes, _accounting_note(result), _grad_note(result)) if n]
    result['notes'] = '; '.join(notes)
    return result


def _accounting_note(result) -> str:
    return ', '.join(f'kd = MMRazor {r["why"]}' for r in result['losses'] if r['why'])


def _grad_note(result) -> str:
    g = result['grad']
    return f'student grads equal to {g["relative"]:.0e} (max diff / max grad)'


# ------------------------------------------------------------------ output
def header_line(args, mm_version: str) -> str:
    load = os.getloadavg() if hasattr(os, 'getloadavg') else None
    return (f'Measured {datetime.date.today().isoformat()} on {args.device} '
            f'({platform.machine()}), torch {torch.__version__}, MMRazor {mm_version}, '
            f'{torch.get_num_threads()} intra-op thread(s) (OMP_NUM_THREADS='
            f'{os.environ.get("OMP_NUM_THREADS")}), load average at the end '
            f'{", ".join(f"{x:.1f}" for x in load) if load else "?"}; {args.warmup} warm-up '
            f'steps, {args.repeats} rounds of {args.iters} steps of each toolbox, interleaved '
            f'{"step by step" if args.interleave == "step" else "round by round"}. '
            f'{ONLY_FOR_COMPARISON}')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] + ' ' + ONLY_FOR_COMPARISON,
        epilog=ONLY_FOR_COMPARISON + ' See docs/benchmark.md, "kd vs MMRazor 1.0.0, same '
        'recipe".', formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--methods', nargs='+', default=None, metavar='NAME',
                        help=f'methods to compare (default: all of {", ".join(methods())})')
    parser.add_argument('--list', action='store_true',
                        help='list the methods (and those not shared) and exit')
    parser.add_argument('--mmrazor-path', default=None, metavar='FOLDER',
                        help='folder holding the mmrazor package (pip install --no-deps '
                             f'--target FOLDER mmrazor==1.0.0, e.g. {EXAMPLE_MMRAZOR_PATH}): '
                             'rerun this command in a child process with FOLDER on its '
                             'PYTHONPATH (the same as PYTHONPATH=FOLDER python ...); '
                             'default: import MMRazor from PYTHONPATH as it is')
    parser.add_argument('--stub', nargs='*', default=[], metavar='MODULE',
                        help='more MMRazor modules to replace by stubs before the import')
    parser.add_argument('--iters', type=int, default=10, help='timed steps per round')
    parser.add_argument('--warmup', type=int, default=3, help='untimed steps per toolbox')
    parser.add_argument('--repeats', type=int, default=5, help='interleaved rounds')
    parser.add_argument('--interleave', default='step', choices=['step', 'round'],
                        help='step: within a round kd and MMRazor steps alternate one by one '
                             '(fairest on a shared machine); round: each toolbox runs its '
                             '--iters steps in a row, the order alternating per round')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="default: the kd recipe's train_dataloader.batch_size")
    parser.add_argument('--input-size', type=int, nargs=2, default=None, metavar=('H', 'W'))
    parser.add_argument('--boxes', type=int, default=10, help='gt boxes per image (detection)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--tol', type=float, default=1e-5,
                        help='losses agree when |kd - MMRazor accounted| <= tol * max(1, |value|)')
    parser.add_argument('--no-memory', action='store_true', help='skip the memory step')
    parser.add_argument('--out', default=None, help='write all results as JSON here')
    parser.add_argument('--write-doc', default=None, metavar='MARKDOWN',
                        help=f'replace the table between {DOC_BEGIN} and {DOC_END} of this file')
    return parser.parse_args(argv)


def not_shared_text() -> str:
    return '\n'.join(f'* {names}: {why}.' for names, why in NOT_SHARED.items())


def main(argv=None) -> List[Dict[str, Any]]:
    args = parse_args(argv)
    table = methods()
    if args.list:
        for m in table.values():
            print(f'{m.key:9s} {m.task:9s} {m.kd_config}  ({m.name})')
        print('not compared:\n' + not_shared_text())
        return []
    names = [n.lower() for n in (args.methods or list(table))]
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SystemExit(f'mmrazor_compare: unknown method(s) {unknown}; choose from '
                         f'{list(table)} (see --list)')
    if args.iters < 1 or args.repeats < 1 or args.warmup < 0:
        raise SystemExit('mmrazor_compare: --iters and --repeats must be >= 1, --warmup >= 0')
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('mmrazor_compare: --device cuda but torch sees no GPU; use --device cpu')
    log(ONLY_FOR_COMPARISON)
    argv = list(argv if argv is not None else sys.argv[1:])
    if args.mmrazor_path and os.environ.get(CHILD_ENV) != '1':
        # this process imports no MMRazor: the comparison runs in a child whose
        # PYTHONPATH holds the folder
        cmd, env = mmrazor_child(argv, args.mmrazor_path)
        log(f'running in a child process with PYTHONPATH={env["PYTHONPATH"]}')
        code = subprocess.call(cmd, env=env, cwd=os.getcwd())
        if code:
            raise SystemExit(code)
        return []
    mm = import_mmrazor(args.stub)
    log(f'MMRazor {mm.version} imported from {mm.path} (stubs: {list(STUB_MODULES) + args.stub})')
    bench = _load_benchmark_module()
    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    results = []
    for name in names:
        try:
            results.append(run_method(table[name], mm, bench, args))
        except Exception as err:  # noqa: BLE001  (one failing method is reported, not fatal)
            log(f'{table[name].name} failed: {type(err).__name__}: {err}\n'
                f'{traceback.format_exc()}')
            results.append(dict(method=table[name].name, task=table[name].task,
                                error=f'{type(err).__name__}: {err}'))
    head = header_line(args, mm.version)
    command = f'PYTHONPATH={mm.path} python ' + ' '.join(
        [osp.relpath(osp.abspath(__file__), ROOT)] + argv)
    differ = '\n'.join(f'* {r["paper"]}.' for r in results if r.get('paper'))
    text = (f'{head}\n\n{format_table(results)}\n\n'
            + (f'Where the values differ before the accounting, which follows the paper:\n\n'
               f'{differ}\n\n' if differ else '')
            + f'Not compared:\n\n{not_shared_text()}\n')
    if args.out:
        from kd.utils.atomic import atomic_write_bytes
        atomic_write_bytes(json.dumps(dict(header=head, command=command, results=results),
                                      indent=1).encode(), args.out)
        log(f'wrote {args.out}')
    if args.write_doc:
        with open(args.write_doc, encoding='utf-8') as f:
            doc = f.read()
        block = f'Command: `{command}`\n\n{text}'
        with open(args.write_doc, 'w', encoding='utf-8') as f:
            f.write(replace_block(doc, block, DOC_BEGIN, DOC_END))
        log(f'wrote the table into {args.write_doc}')
    print(text, flush=True)
    return results


if __name__ == '__main__':
    main()
