"""Time a distillation recipe's training step against the student's and the teacher's.

    OMP_NUM_THREADS=1 python tools/analysis_tools/benchmark.py CONFIG \\
        [--iters 20] [--warmup 5] [--repeats 5] [--batch-size B] [--input-size H W] \\
        [--boxes K] [--device cpu|cuda] [--out result.json] [--cfg-options KEY=VALUE ...]

One process builds the recipe's distiller with randomly initialised teachers
(no checkpoint is read), makes one synthetic batch (normalised random images;
``DetDataSample``s with ``--boxes`` random ground-truth boxes per image for a
detector, a random ``gt_label`` per image for a classifier) and times, after
``--warmup`` iterations of each, ``--repeats`` rounds of ``--iters``
iterations of every kind in turn (interleaved, so slow drifts of the machine
hit every kind alike):

* ``student``: the student's own training step (loss mode, backward, SGD step);
* ``teacher``: the teacher forward exactly as the distiller runs it (minimal
  forward, recorders on, no grad);
* ``naive_teacher``: ``teacher(inputs, data_samples, mode='loss')`` under
  ``no_grad``, the teacher in train mode with its BatchNorm layers in eval mode
  (MMRazor's frozen-teacher step: a full forward with target assignment);
* ``distill``: the distiller's training step (``loss`` -> ``parse_losses`` ->
  backward -> SGD step);
* ``entry:<name>``: one distill entry's connector + loss forward and backward
  on recorded features (the student records are detached into leaf tensors,
  so the student's own backward is not included).

Peak memory per kind (CUDA: ``max_memory_allocated``; CPU: peak RSS growth
in a forked child per kind) and the JSON fields are described in
``docs/benchmark.md``. Progress goes to stderr; stdout gets one Markdown table
row. ``--lr`` is 0 by default, so every iteration computes on the same
weights (the arithmetic of an SGD step does not depend on the rate).
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import json
import math
import os
import os.path as osp
import platform
import resource
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional

import torch

from kd.benchmark import summary_row

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

MIB = 1024.0 * 1024.0
KINDS = ('student', 'teacher', 'teacher_train', 'naive_teacher', 'distill')
CLOCKS = {'wall': time.perf_counter, 'cpu': time.process_time}


def log(msg: str) -> None:
    print(f'[benchmark {time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)


# ------------------------------------------------------------------- building
def build_distiller(config: str, cfg_options: List[str]):
    """The recipe's distiller with random teachers; returns ``(cfg, model)``."""
    from mmengine.registry import DefaultScope

    from kd.apis import load_config
    from kd.registry import MODELS
    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = load_config(config, list(cfg_options or []))
    model_cfg = cfg.model
    if 'Distiller' not in str(model_cfg.get('type', '')):
        raise SystemExit(f'{config}: model.type={model_cfg.get("type")!r} is not a kd '
                         'distiller; benchmark.py times distillation recipes')
    teachers = [model_cfg.get('teacher')] + list((model_cfg.get('teachers') or {}).values())
    for t in teachers:
        if isinstance(t, dict):
            t['checkpoint'] = None          # timing does not depend on the weights
            t['allow_random_init'] = True
            t.pop('cache', None)            # the synthetic batch has no data set indices
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'kd')):
        model = MODELS.build(model_cfg)
    return cfg, model


def _pipeline_size(cfg) -> Optional[List[int]]:
    """``[H, W]`` from the training pipeline's resize/crop transform, if it has one."""
    loader = cfg.get('train_dataloader') or {}
    dataset = loader.get('dataset') or {}
    while isinstance(dataset, dict) and 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']
    for t in (dataset.get('pipeline') or []) if isinstance(dataset, dict) else []:
        if not isinstance(t, dict):
            continue
        scale = t.get('scale') or t.get('img_scale')
        if scale is not None:
            scale = scale[0] if isinstance(scale[0], (list, tuple)) else scale
            scale = (scale, scale) if isinstance(scale, int) else scale
            # mmdet scales are (w, h); pad to a multiple of 32 as DetDataPreprocessor does
            h, w = int(scale[1]), int(scale[0])
            return [int(math.ceil(h / 32) * 32), int(math.ceil(w / 32) * 32)]
        size = t.get('size') or t.get('crop_size')
        if size is not None:
            size = (size, size) if isinstance(size, int) else size
            return [int(size[0]), int(size[1])]
    return None


def default_input_size(cfg) -> List[int]:
    size = _pipeline_size(cfg)
    if size is not None:
        return size
    probe = cfg.model.get('probe_shape')
    if probe:
        return [int(probe[1]), int(probe[2])]
    return [224, 224]


def is_detector(model) -> bool:
    student = model.student
    try:
        from mmdet.models.detectors import BaseDetector
        if isinstance(student, BaseDetector):
            return True
    except ImportError:
        pass
    return any(hasattr(student, a) for a in ('bbox_head', 'rpn_head', 'roi_head'))


def _num_classes(student) -> int:
    for path in ('bbox_head', 'roi_head.bbox_head', 'head', 'cls_head'):
        obj = student
        for part in path.split('.'):
            obj = getattr(obj, part, None)
        n = getattr(obj, 'num_classes', None)
        if isinstance(n, int) and n > 0:
            return n
    return 10


def make_batch(model, detection: bool, batch_size: int, size: List[int], boxes: int,
               device: torch.device, seed: int = 0):
    """Normalised random images and data samples (boxes or labels), on ``device``."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    inputs = torch.randn(batch_size, 3, h, w, generator=g)
    num_classes = _num_classes(model.student)
    samples = []
    if detection:
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        for i in range(batch_size):
            # log-uniform sizes from 4 px to half the image, anywhere inside it
            lo, hi = math.log(4.0), math.log(max(8.0, min(h, w) / 2))
            bw = torch.exp(torch.empty(boxes).uniform_(lo, hi, generator=g))
            bh = torch.exp(torch.empty(boxes).uniform_(lo, hi, generator=g))
            x1 = torch.rand(boxes, generator=g) * (w - bw).clamp(min=0)
            y1 = torch.rand(boxes, generator=g) * (h - bh).clamp(min=0)
            bboxes = torch.stack([x1, y1, x1 + bw, y1 + bh], 1)
            sample = DetDataSample(metainfo=dict(
                img_id=i, sample_idx=i, img_shape=(h, w), ori_shape=(h, w),
                pad_shape=(h, w), batch_input_shape=(h, w), scale_factor=(1.0, 1.0)))
            sample.gt_instances = InstanceData(
                bboxes=bboxes, labels=torch.randint(num_classes, (boxes, ), generator=g))
            sample.ignored_instances = InstanceData(
                bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
            samples.append(sample.to(device))
    else:
        from mmengine.structures import BaseDataElement
        for i in range(batch_size):
            sample = BaseDataElement(metainfo=dict(sample_idx=i))
            sample.gt_label = torch.randint(num_classes, (1, ), generator=g)
            samples.append(sample.to(device))
    return inputs.to(device), samples


# -------------------------------------------------------------------- steps
def _leaf(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().requires_grad_(True) if x.is_floating_point() else x.detach()
    if isinstance(x, (list, tuple)):
        return type(x)(_leaf(v) for v in x)
    if isinstance(x, dict):
        return {k: _leaf(v) for k, v in x.items()}
    return x


class Steps:
    """The timed closures of one distiller and batch."""

    def __init__(self, model, inputs, samples, lr: float) -> None:
        self.model, self.inputs, self.samples = model, inputs, samples
        self.teachers = list(model.teacher_side.models().values())
        self.opt_student = torch.optim.SGD(
            [p for p in model.student.parameters() if p.requires_grad], lr=lr, momentum=0.9)
        self.opt_distill = torch.optim.SGD(
            [p for p in model.parameters() if p.requires_grad], lr=lr, momentum=0.9)
        self.entries = list(model.entries)
        self._naive_modes: Dict[int, list] = {}
        # a teacher trained with the student (online distillation) has its own training step
        self.trainable_teacher = bool(getattr(model.teacher_side, 'trainable', False))
        self.opt_teacher = torch.optim.SGD(
            [p for t in self.teachers for p in t.parameters() if p.requires_grad] or
            [torch.zeros(1, requires_grad=True)], lr=lr, momentum=0.9) \
            if self.trainable_teacher else None

    def kinds(self) -> Dict[str, Callable[[], None]]:
        out = {'student': self.student}
        if self.teachers:
            out['teacher'] = self.teacher
            if self.trainable_teacher:
                out['teacher_train'] = self.teacher_train
            out['naive_teacher'] = self.naive_teacher
        out['distill'] = self.distill
        return out

    def student(self) -> None:
        m = self.model
        losses = m.student(self.inputs, self.samples, mode='loss')
        loss, _ = m.student.parse_losses(losses)   # the keys with 'loss' in the name
        self.opt_student.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_student.step()

    def teacher(self) -> None:
        with torch.no_grad():
            self.model.teacher_side.run(self.inputs, self.samples, self.model.active_entries())
        self.model.teacher_side.reset()

    def teacher_train(self) -> None:
        """A trainable teacher's own training step, as the student's (online distillation)."""
        m = self.model
        loss = 0.0
        for name, t in m.teacher_side.models().items():
            losses = t(m.teacher_side.inputs(self.inputs, name), self.samples, mode='loss')
            loss = loss + t.parse_losses(losses)[0]
        self.opt_teacher.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_teacher.step()

    def naive_teacher(self) -> None:
        """MMRazor's teacher step: train mode with BatchNorm in eval, loss mode, no grad."""
        m = self.model
        with torch.no_grad():
            for name, t in m.teacher_side.models().items():
                flips = self._naive_modes.setdefault(id(t), [
                    mod for mod in t.modules()
                    if not isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)])
                before = [mod.training for mod in flips]
                for mod in flips:
                    mod.training = True
                try:
                    t(m.teacher_side.inputs(self.inputs, name), self.samples, mode='loss')
                finally:
                    for mod, mode in zip(flips, before):
                        mod.training = mode

    def distill(self) -> None:
        m = self.model
        losses = m.loss(self.inputs, self.samples)
        loss, _ = m.parse_losses(losses)
        self.opt_distill.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_distill.step()

    # per entry: records prepared once (not timed), then the entry's loss alone
    def prepare_records(self) -> None:
        from kd.distillers.forward import run_forward
        m = self.model
        self.release_records()
        m.teacher_side.run(self.inputs, self.samples, m.active_entries())
        with contextlib.ExitStack() as stack:
            stack.enter_context(m.student_recorders)
            # a layer-wise self-distiller records its own network
            stack.enter_context(m.teacher_side.recording_student())
            with torch.no_grad():
                if m.calculate_student_loss:
                    m.student(self.inputs, self.samples, mode='loss')
                else:
                    run_forward(m.student, m.student_forward_mode, self.inputs, self.samples,
                                'student')
        for recorder in m.student_recorders.recorders.values():
            recorder._records = [_leaf(r) for r in recorder._records]

    def release_records(self) -> None:
        self.model.student_recorders.reset()
        self.model.teacher_side.reset()

    def entry(self, name: str) -> Callable[[], None]:
        m = self.model

        def run() -> None:
            m.distill_loss(name, self.samples).backward()
        return run

    def clear_grads(self) -> None:
        for p in self.model.parameters():
            p.grad = None


# ------------------------------------------------------------------- timing
def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_iters(fn: Callable[[], None], n: int, device: torch.device,
               between: Optional[Callable[[], None]] = None,
               clock: Callable[[], float] = time.perf_counter) -> List[float]:
    """Time (ms) of each of ``n`` calls, the device synchronised around each.

    ``clock`` is ``time.perf_counter`` (wall time) or ``time.process_time`` (the
    CPU time of all the process's threads: time the process spent waiting for a
    core taken by another process is not in it).
    """
    out = []
    for _ in range(n):
        if between is not None:
            between()
        _sync(device)
        start = clock()
        fn()
        _sync(device)
        out.append((clock() - start) * 1e3)
    return out


def summarise(samples: List[float], per_repeat: List[List[float]]) -> Dict[str, Any]:
    s = sorted(samples)
    q = statistics.quantiles(s, n=4, method='inclusive') if len(s) > 1 else [s[0]] * 3
    return dict(median=statistics.median(s), q1=q[0], q3=q[2], iqr=q[2] - q[0],
                min=s[0], max=s[-1], n=len(s),
                repeat_medians=[statistics.median(r) for r in per_repeat if r])


# ------------------------------------------------------------------- memory
def _proc_status_kib(key: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux)."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _trim_heap() -> None:
    """Give free heap memory back to the OS (glibc), so it is not reused invisibly."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _rss_peak_growth(fn: Callable[[], None], iters: int) -> Dict[str, Any]:
    """Peak RSS growth (MiB) of ``iters`` calls of ``fn`` from the current state."""
    gc_collect()
    _trim_heap()
    hwm_ok = _reset_hwm()
    rss0 = _proc_status_kib('VmRSS')
    maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(iters):
        fn()
    if hwm_ok and rss0 is not None:
        peak = _proc_status_kib('VmHWM')
        return dict(peak_mib=peak / 1024.0, growth_mib=(peak - rss0) / 1024.0,
                    source='VmHWM')
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux
    base = rss0 if rss0 is not None else maxrss0
    return dict(peak_mib=maxrss / 1024.0, growth_mib=max(0, maxrss - base) / 1024.0,
                source='ru_maxrss', lower_bound=maxrss == maxrss0)


def gc_collect() -> None:
    import gc
    gc.collect()


def cpu_memory_forked(fn: Callable[[], None], iters: int, timeout: float) -> Dict[str, Any]:
    """Measure :func:`_rss_peak_growth` of ``fn`` in a forked child (isolated per kind)."""
    gc_collect()
    _trim_heap()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:   # child: one intra-op thread, as a DataLoader worker (OpenMP after fork)
        os.close(read_fd)
        code = 0
        try:
            torch.set_num_threads(1)
            result = _rss_peak_growth(fn, iters)
        except BaseException as err:   # noqa: BLE001  (reported to the parent)
            result, code = dict(error=f'{type(err).__name__}: {err}'), 1
        os.write(write_fd, json.dumps(result).encode())
        os.close(write_fd)
        os._exit(code)
    os.close(write_fd)
    deadline = time.time() + timeout
    chunks = []
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.time() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            os.close(read_fd)
            return dict(error=f'timed out after {timeout:.0f} s')
        time.sleep(0.05)
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    try:
        return json.loads(b''.join(chunks).decode() or '{}')
    except ValueError:
        return dict(error='no result from the child process')


def cuda_memory(fn: Callable[[], None], iters: int, device: torch.device) -> Dict[str, Any]:
    gc_collect()
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    for _ in range(iters):
        fn()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device)
    return dict(peak_mib=peak / MIB, growth_mib=(peak - base) / MIB, base_mib=base / MIB)


def count_flops(steps: Steps, kinds: Dict[str, Callable[[], None]],
                entries: Dict[str, Callable[[], None]]) -> Dict[str, Any]:
    """GFLOP of one iteration of every kind and entry, and what they predict.

    ``torch.utils.flop_counter.FlopCounterMode`` counts matrix products and
    convolutions (forward and backward), not elementwise operations, so the
    ``distill / (student + teacher)`` ratio of these counts is the step's
    overhead if only the arithmetic of those layers cost time.
    """
    from torch.utils.flop_counter import FlopCounterMode

    def count(fn: Callable[[], None], between: Optional[Callable[[], None]] = None) -> float:
        if between is not None:
            between()
        with FlopCounterMode(display=False) as counter:
            fn()
        return counter.get_total_flops() / 1e9

    out: Dict[str, Any] = {'unit': 'GFLOP', 'kinds': {}, 'entries': {}}
    for kind, fn in kinds.items():
        out['kinds'][kind] = count(fn)
        steps.release_records()
    if entries:
        steps.prepare_records()
        for name, fn in entries.items():
            out['entries'][name] = count(fn, steps.clear_grads)
        steps.release_records()
        steps.clear_grads()
    k = out['kinds']
    teacher = k.get('teacher_train', k.get('teacher', 0.0))
    if k.get('student'):
        out['ratio'] = k['distill'] / (k['student'] + teacher) if 'distill' in k else None
    return out


def profile_distill(steps: Steps, n: int, device: torch.device,
                    trace: Optional[str]) -> None:
    """Print the top operators of ``n`` distillation steps (regions ``kd:*`` included)."""
    from torch.profiler import ProfilerActivity, profile, record_function
    m = steps.model
    activities = [ProfilerActivity.CPU] + (
        [ProfilerActivity.CUDA] if device.type == 'cuda' else [])
    wrapped = {}
    # name the distiller's parts in the trace: teacher forward, entry losses, parse
    for obj, attr, region in ((m.teacher_side, 'run', 'teacher_run'),
                              (m, 'distill_loss', 'distill_loss'),
                              (m, 'parse_losses', 'parse_losses')):
        original = getattr(obj, attr)

        def timed(*a, _f=original, _n=region, **k):
            with record_function(f'kd:{_n}'):
                return _f(*a, **k)
        wrapped[(obj, attr)] = original
        setattr(obj, attr, timed)
    try:
        with profile(activities=activities) as prof:
            for _ in range(n):
                with record_function('kd:distill_step'):
                    steps.distill()
                _sync(device)
    finally:
        for obj, attr in wrapped:
            delattr(obj, attr)
    sort = 'self_cuda_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
    print(prof.key_averages().table(sort_by=sort, row_limit=25), file=sys.stderr)
    regions = [e for e in prof.key_averages() if e.key.startswith('kd:')]
    for e in sorted(regions, key=lambda e: -e.cpu_time_total):
        log(f'profile {e.key}: {e.cpu_time_total / 1e3 / n:.2f} ms per step '
            f'({e.count // n} call(s) per step, CPU time incl. children)')
    if trace:
        prof.export_chrome_trace(trace)
        log(f'wrote the profiler trace {trace}')


# --------------------------------------------------------------------- main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=20, help='timed iterations per repeat')
    parser.add_argument('--warmup', type=int, default=5, help='untimed iterations per kind')
    parser.add_argument('--repeats', type=int, default=5, help='interleaved rounds')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="default: the recipe's train_dataloader.batch_size")
    parser.add_argument('--input-size', type=int, nargs=2, default=None, metavar=('H', 'W'),
                        help="default: the training pipeline's resize/crop size, else the "
                             "distiller's probe_shape, else 224 x 224")
    parser.add_argument('--boxes', type=int, default=10, help='gt boxes per image (detectors)')
    parser.add_argument('--device', default=None, choices=['cpu', 'cuda'],
                        help='default: cuda when available')
    parser.add_argument('--lr', type=float, default=0.0, help='SGD rate of the timed steps')
    parser.add_argument('--clock', default='wall', choices=sorted(CLOCKS),
                        help='wall: time.perf_counter; cpu: time.process_time, the CPU time '
                             'of the process (all its threads), which leaves out the time it '
                             'waited for a core other processes held (CPU only)')
    parser.add_argument('--flops', action='store_true',
                        help='also count the floating-point operations of one iteration of '
                             'every kind and entry (torch.utils.flop_counter: matmuls and '
                             'convolutions, forward and backward)')
    parser.add_argument('--memory', default='auto', choices=['auto', 'fork', 'inline', 'off'],
                        help='CPU peak-memory method (auto: fork where available); on CUDA '
                             'max_memory_allocated is used unless off')
    parser.add_argument('--memory-iters', type=int, default=2,
                        help='iterations per kind for the memory measurement')
    parser.add_argument('--no-entries', action='store_true', help='skip the per-entry times')
    parser.add_argument('--profile', type=int, default=0, metavar='N',
                        help='after timing, run N distillation steps under torch.profiler '
                             'and print the operators with the most self time (stderr)')
    parser.add_argument('--profile-trace', default=None,
                        help='with --profile: also write a Chrome trace (JSON) here')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default=None, help='JSON result file')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override recipe settings, as for tools/train.py')
    return parser.parse_args(argv)


def run(args) -> Dict[str, Any]:
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    torch.manual_seed(args.seed)
    log(f'building {args.config} (teachers randomly initialised)')
    t0 = time.perf_counter()
    cfg, model = build_distiller(args.config, args.cfg_options)
    build_s = time.perf_counter() - t0
    model.to(device)
    model.train()
    detection = is_detector(model)
    batch_size = args.batch_size or int((cfg.get('train_dataloader') or {}).get(
        'batch_size', 8))
    size = list(args.input_size) if args.input_size else default_input_size(cfg)
    inputs, samples = make_batch(model, detection, batch_size, size, args.boxes, device,
                                 args.seed)
    steps = Steps(model, inputs, samples, args.lr)
    if args.clock == 'cpu' and device.type == 'cuda':
        raise SystemExit('--clock cpu measures host CPU time; use the wall clock on CUDA')
    clock = CLOCKS[args.clock]
    kinds = steps.kinds()
    entries = [] if args.no_entries else steps.entries
    log(f'{type(model).__name__} on {device}: batch {batch_size} x 3 x {size[0]} x {size[1]}'
        f'{f", {args.boxes} boxes/image" if detection else ""}; kinds {list(kinds)}, '
        f'entries {entries}; built in {build_s:.1f} s')
    errors: Dict[str, str] = {}

    # ---- memory first, each kind from the same post-build state
    memory: Dict[str, Any] = {}
    method = args.memory
    if method != 'off':
        if device.type == 'cuda':
            method = 'cuda_max_allocated'
        elif method == 'auto':
            method = 'fork' if hasattr(os, 'fork') else 'inline'
        for kind, fn in kinds.items():
            try:
                if device.type == 'cuda':
                    memory[kind] = cuda_memory(fn, args.memory_iters, device)
                elif method == 'fork':
                    memory[kind] = cpu_memory_forked(fn, args.memory_iters, timeout=600)
                else:
                    memory[kind] = _rss_peak_growth(fn, args.memory_iters)
            except Exception as err:  # noqa: BLE001
                memory[kind] = dict(error=f'{type(err).__name__}: {err}')
            steps.release_records()
            log(f'memory {kind}: ' + (memory[kind].get('error') or
                                      f'peak growth {memory[kind]["growth_mib"]:.1f} MiB'))

    # ---- warm-up
    timed: Dict[str, Callable[[], None]] = {}
    for kind, fn in kinds.items():
        try:
            time_iters(fn, args.warmup, device, clock=clock)
            timed[kind] = fn
        except Exception as err:  # noqa: BLE001
            errors[kind] = f'{type(err).__name__}: {err}'
            log(f'{kind} failed, left out: {errors[kind]}')
        finally:
            steps.release_records()
    entry_fns = {}
    if entries:
        try:
            steps.prepare_records()
            for name in entries:
                fn = steps.entry(name)
                try:
                    time_iters(fn, args.warmup, device, steps.clear_grads, clock)
                    entry_fns[name] = fn
                except Exception as err:  # noqa: BLE001
                    errors[f'entry:{name}'] = f'{type(err).__name__}: {err}'
        except Exception as err:  # noqa: BLE001
            errors['entries'] = f'{type(err).__name__}: {err}'
        finally:
            steps.release_records()
    log(f'warm-up done ({args.warmup} iterations per kind)')

    # ---- interleaved repeats
    per_repeat: Dict[str, List[List[float]]] = {k: [] for k in list(timed) + [
        f'entry:{n}' for n in entry_fns]}
    for r in range(args.repeats):
        for kind, fn in timed.items():
            per_repeat[kind].append(time_iters(fn, args.iters, device, clock=clock))
            steps.release_records()
        if entry_fns:
            steps.prepare_records()
            for name, fn in entry_fns.items():
                per_repeat[f'entry:{name}'].append(
                    time_iters(fn, args.iters, device, steps.clear_grads, clock))
            steps.release_records()
            steps.clear_grads()
        medians = ', '.join(f'{k} {statistics.median(v[-1]):.1f}'
                            for k, v in per_repeat.items() if v)
        log(f'repeat {r + 1}/{args.repeats} (median ms): {medians}')

    flops = count_flops(steps, timed, entry_fns) if args.flops else None

    if args.profile > 0 and 'distill' in timed:
        profile_distill(steps, args.profile, device, args.profile_trace)

    times = {k: summarise([x for rep in v for x in rep], v)
             for k, v in per_repeat.items() if not k.startswith('entry:') and v}
    entry_times = {k[len('entry:'):]: summarise([x for rep in v for x in rep], v)
                   for k, v in per_repeat.items() if k.startswith('entry:') and v}
    ratio, basis = None, None
    if 'distill' in times and 'student' in times:
        # a trained (online) teacher's floor is its training step, not its forward
        teacher_kind = 'teacher_train' if 'teacher_train' in times else 'teacher'
        basis = 'student' + (f' + {teacher_kind}' if teacher_kind in times else '')
        ratio = times['distill']['median'] / (
            times['student']['median'] + times.get(teacher_kind, {}).get('median', 0.0))
    saving = None
    if 'teacher' in times and 'naive_teacher' in times:
        saving = times['naive_teacher']['median'] / times['teacher']['median']

    def count(params) -> int:
        return int(sum(p.numel() for p in params))

    result = dict(
        config=args.config, cfg_options=list(args.cfg_options),
        command=' '.join([osp.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
        timestamp=datetime.datetime.now().isoformat(timespec='seconds'),
        host=dict(device=str(device), device_name=(torch.cuda.get_device_name(device)
                                                   if device.type == 'cuda'
                                                   else platform.processor() or
                                                   platform.machine()),
                  torch=torch.__version__, threads=torch.get_num_threads(),
                  omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
                  load_average=list(os.getloadavg()) if hasattr(os, 'getloadavg') else None),
        distiller=type(model).__name__,
        task='detection' if detection else 'classification',
        teacher_forward_mode=getattr(model.teacher_side, 'forward_mode',
                                     getattr(model.teacher_side, 'forward_modes', None)),
        entries=list(model.entries),
        batch_size=batch_size, input_size=size,
        boxes_per_image=args.boxes if detection else None,
        iters=args.iters, warmup=args.warmup, repeats=args.repeats, lr=args.lr,
        clock=args.clock,
        params=dict(student=count(model.student.parameters()),
                    teacher=count(p for t in steps.teachers for p in t.parameters()),
                    distill_modules=count(p for n, p in model.named_parameters()
                                          if not n.startswith('student.'))),
        times_ms=times, entry_times_ms=entry_times,
        overhead_ratio=ratio, overhead_basis=basis, naive_over_minimal_teacher=saving,
        flops=flops,
        memory=dict(method=method if method != 'off' else None, unit='MiB', kinds=memory),
        errors=errors, build_seconds=build_s)
    return result


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.iters < 1 or args.repeats < 1 or args.warmup < 0:
        raise SystemExit('--iters and --repeats must be >= 1, --warmup >= 0')
    result = run(args)
    if args.out:
        from kd.utils.atomic import atomic_write_bytes
        atomic_write_bytes(json.dumps(result, indent=1).encode(), args.out)
        log(f'wrote {args.out}')
    for key, msg in result['errors'].items():
        log(f'error in {key}: {msg}')
    print(summary_row(result), flush=True)


if __name__ == '__main__':
    main()
