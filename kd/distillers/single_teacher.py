"""SingleTeacherDistiller: a student trained with one frozen teacher's guidance."""
from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.utils import is_list_of

from kd.engine.schedules import progress_factor, validate_schedule
from kd.recorders import RecorderManager
from kd.registry import MODELS

from .builder import build_model, load_model_file, load_teacher_weights, model_cfg_and_scope
from .entries import EntryModules, _Entry

TEACHER_FORWARD_MODES = ('auto', 'backbone', 'extract_feat', 'tensor', 'loss')
# plus 'head:<name>' (extract_feat, then the named head module), chosen by 'auto'

# teacher=dict(autocast=...): the teacher forward runs under torch.autocast in this dtype
TEACHER_AUTOCAST = {'bf16': torch.bfloat16, 'fp16': torch.float16}


def _autocast(inputs: Any, setting: Optional[str]):
    """``torch.autocast`` for a teacher forward on ``inputs``' device (or a no-op)."""
    if setting is None:
        return contextlib.nullcontext()
    device_type = inputs.device.type if isinstance(inputs, torch.Tensor) else 'cpu'
    dtype = TEACHER_AUTOCAST[setting]
    if device_type == 'cpu' and dtype is torch.float16:
        raise ValueError("teacher autocast='fp16' needs a CUDA device: torch autocasts to "
                         "float16 only on GPUs. On the CPU use autocast='bf16', or remove "
                         '`autocast` from the teacher config.')
    return torch.autocast(device_type=device_type, dtype=dtype)


def _float32(record: Any) -> Any:
    """``record`` with its half-precision (bf16/fp16) tensors cast to float32."""
    if isinstance(record, torch.Tensor):
        return record.float() if record.dtype in (torch.bfloat16, torch.float16) else record
    if isinstance(record, (list, tuple)):
        return type(record)(_float32(r) for r in record)
    if isinstance(record, dict):
        return {k: _float32(v) for k, v in record.items()}
    return record


@MODELS.register_module()
class SingleTeacherDistiller(EntryModules, BaseModel):
    """Train a student with a frozen teacher's records as extra targets.

    Args:
        student: the student model config (usually ``_base_.model``),
            ``dict(config=PATH)``, or ``dict(model_file=PATH,
            allow_unsafe_unpickle=True)`` for a whole saved module (a pruned
            network that no config describes).
        teacher: ``dict(config=PATH, checkpoint=PATH_OR_URL)``; PATH may be
            ``mmdet::...``, ``kd::...``, absolute or relative to the recipe.
            ``allow_random_init=True`` permits a missing checkpoint (tests,
            benchmarks); ``forward='auto'|'backbone'|'extract_feat'|'tensor'|
            'loss'`` chooses how much of the teacher runs (``auto``: the least
            that produces every teacher record). ``autocast='bf16'|'fp16'`` runs
            the frozen teacher's forward under ``torch.autocast`` (fp16 needs a GPU)
            and hands float32 records to the losses; ``cache=PATH`` keeps each
            entry's (single-tensor) teacher record per data set sample and skips
            the teacher once a batch is stored (:mod:`kd.distillers.teacher_cache`).
        distill: ``{entry_name: dict(student=SPEC, teacher=SPEC, loss=CFG,
            connector=CFG|[CFG per level], teacher_connector=CFG,
            levels=[i, ...], share_loss=False)}``.  A SPEC is a module name
            (``'neck'``), a method (``'bbox_head.forward'``) or
            ``dict(source=..., type='module_outputs'|'module_inputs'|
            'method_outputs', index=i, call=k)``.
        calculate_student_loss: add the student's own task losses.
        student_init_from_teacher: module names (``['neck', 'bbox_head']``) whose
            tensors are copied from the teacher into the student wherever name and
            shape match; what was copied and skipped is logged.
        nan_policy: what a NaN/Inf ``student.*``/``distill.*`` loss does:
            ``'raise'`` stops training with the entry names and the iteration;
            ``'skip'`` logs and counts it (``nonfinite_steps``) and leaves the
            step to ``optim_wrapper=dict(type='kd.SkipNonFiniteOptimWrapper')``,
            which drops it without touching the weights.
        student_loss_schedule: a loss-weight schedule (``kd.engine.schedules``) for
            the student's task losses; each distill entry takes ``schedule=...``.
        pseudo_labels: ``dict(score_thr=0.5, loss_weight=1.0)``: on images
            flagged ``unlabeled`` (kd.SplitLabels, kd.UnlabeledImageDataset)
            the teacher's detections above ``score_thr`` become the ground
            truth of the student's task loss (``student.pseudo.*``, scaled by
            ``loss_weight``; boxes per image logged). Without it unlabeled
            images get no task loss at all; distill entries apply to every
            image either way.
        probe_shape: ``(C, H, W)`` of the dummy batch run once at build time to
            check record names and shapes and to infer connector channels;
            ``None`` skips the probe (then connectors need explicit channels
            and a tuple record needs ``levels``).
        data_preprocessor: defaults to the student's.
        recipe_dir: directory of the recipe file, for relative teacher paths
            (set by ``kd.apis.load_config``).
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 distill: Optional[Dict[str, dict]] = None,
                 calculate_student_loss: bool = True,
                 student_loss_schedule: Optional[dict] = None,
                 student_init_from_teacher: Optional[Sequence[str]] = None,
                 nan_policy: str = 'raise',
                 pseudo_labels: Optional[dict] = None,
                 probe_shape: Optional[Sequence[int]] = (3, 128, 128),
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 recipe_dir: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        distill = dict(distill or {})
        if not calculate_student_loss and not distill:
            raise ValueError('calculate_student_loss=False with no distill entry leaves '
                             'nothing to train; add an entry to `distill` or set '
                             'calculate_student_loss=True.')
        if isinstance(student, dict) and 'model_file' in student:
            student_model, s_scope = load_model_file(dict(student), recipe_dir), None
        else:
            s_cfg, s_scope, _ = model_cfg_and_scope(student, recipe_dir, 'student')
            student_model = build_model(s_cfg, s_scope)
        if data_preprocessor is None:
            data_preprocessor = getattr(student_model, 'data_preprocessor', None)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = student_model
        self.student_scope = s_scope
        self.calculate_student_loss = calculate_student_loss
        if nan_policy not in ('raise', 'skip'):
            raise ValueError(f"nan_policy must be 'raise' or 'skip', got {nan_policy!r}")
        self.nan_policy = nan_policy
        if pseudo_labels is not None:
            unknown = set(pseudo_labels) - {'score_thr', 'loss_weight'}
            if unknown:
                raise KeyError(f'pseudo_labels has unknown keys {sorted(unknown)}; use '
                               'dict(score_thr=0.5, loss_weight=1.0)')
            if not 0 <= float(pseudo_labels.get('score_thr', 0.5)) <= 1:
                raise ValueError('pseudo_labels.score_thr must be in [0, 1], got '
                                 f'{pseudo_labels["score_thr"]}')
        self.pseudo_labels = dict(pseudo_labels) if pseudo_labels is not None else None
        self.nonfinite_steps = 0
        self._build_teacher(teacher, recipe_dir)
        self._init_from_teacher = list(student_init_from_teacher or [])
        self.init_report = self.init_student_from_teacher(self._init_from_teacher)

        self.entries: Dict[str, _Entry] = {
            name: _Entry(name, dict(cfg)) for name, cfg in distill.items()}
        self.student_recorders = self._make_recorders('student', self.student)
        self._prepare_teacher_recorders()
        self.student_forward_mode = self._choose_mode(self.student, self.student_recorders)
        self.distill_losses = nn.ModuleDict()
        self.connectors = nn.ModuleDict()
        self.teacher_connectors = nn.ModuleDict()
        self.loss_weight_factors: Dict[str, float] = {n: 1.0 for n in self.entries}
        self.student_loss_factor = 1.0
        self.student_loss_schedule = validate_schedule(
            student_loss_schedule, 'student_loss_schedule') if student_loss_schedule else None
        # set by kd.StopDistillHook: no distill loss and no teacher forward any more
        self.distill_stopped = False
        self._manual_progress: Optional[tuple] = None
        self._build_entries(probe_shape)
        self._setup_teacher_cache()

    # ------------------------------------------------------------------ build
    # set by _build_teacher from teacher=dict(autocast=..., cache=...); class defaults
    # for the distillers whose teacher is not loaded from a config (EMA, BYOT)
    _teacher_autocast: Optional[str] = None
    _teacher_cache_cfg: Optional[dict] = None
    teacher_cache = None
    _cached_records: Optional[Dict[str, torch.Tensor]] = None

    def _build_teacher(self, cfg: dict, recipe_dir: Optional[str]) -> None:
        teacher, t_scope, self.teacher_meta = self._load_teacher(
            cfg, recipe_dir, 'teacher', extra_keys={'trainable', 'cache'})
        self.teacher_trainable = bool(cfg.get('trainable', False))
        self._teacher_autocast = cfg.get('autocast')
        if cfg.get('cache'):
            self._teacher_cache_cfg = dict(path=str(cfg['cache']), config=str(cfg['config']),
                                           checkpoint=str(cfg.get('checkpoint')))
        if self.teacher_trainable and (self._teacher_autocast or cfg.get('cache')):
            raise ValueError('teacher autocast= and cache= apply to a frozen teacher; a '
                             'trainable (online) teacher takes neither')
        self._install_teacher(teacher, t_scope, cfg.get('forward', 'auto'),
                              register=self.teacher_trainable)
        if self.teacher_trainable:  # online distillation: the teacher learns too
            teacher.requires_grad_(True)

    @staticmethod
    def _load_teacher(cfg: dict, recipe_dir: Optional[str], label: str,
                      extra_keys: frozenset = frozenset()) -> tuple:
        """Build one teacher from ``dict(config, checkpoint, ...)`` and load it strictly.

        Returns ``(model, default scope, checkpoint meta)``.
        """
        if not isinstance(cfg, dict) or 'config' not in cfg:
            raise TypeError(f'{label} must be dict(config=PATH, checkpoint=PATH); got '
                            f'{cfg!r:.200}')
        known = {'config', 'checkpoint', 'allow_random_init', 'forward',
                 'allow_unsafe_unpickle', 'autocast'} | set(extra_keys)
        unknown = set(cfg) - known
        if unknown:
            raise KeyError(f'{label} has unknown keys {sorted(unknown)}; allowed: '
                           f'{sorted(known)}')
        if cfg.get('autocast') is not None and cfg['autocast'] not in TEACHER_AUTOCAST:
            raise ValueError(f'{label}: autocast={cfg["autocast"]!r} is not one of '
                             f'{sorted(TEACHER_AUTOCAST)} (or None for float32)')
        t_cfg, t_scope, _ = model_cfg_and_scope(cfg, recipe_dir, label)
        model = build_model(t_cfg, t_scope)
        checkpoint = cfg.get('checkpoint')
        if checkpoint:
            try:
                meta = load_teacher_weights(
                    model, checkpoint, recipe_dir,
                    allow_unsafe=bool(cfg.get('allow_unsafe_unpickle', False)))
            except KeyError as err:
                raise KeyError(f'{label}: {err.args[0]}') from err
        elif not cfg.get('allow_random_init', False):
            raise ValueError(
                f'{label} has no checkpoint: a randomly initialised teacher silently '
                'ruins distillation. Set dict(config=..., checkpoint=PATH) or, '
                'on purpose (tests, benchmarks), allow_random_init=True.')
        else:
            meta = {}
        return model, t_scope, meta

    def _install_teacher(self, teacher: nn.Module, scope: Optional[str], forward: str,
                         register: bool) -> None:
        """Freeze ``teacher`` and attach it.

        ``register=False`` (a teacher from a checkpoint): not a registered
        sub-module, so it stays out of state_dict(), parameters() (so out of the
        optimizer and DDP) and train(). ``register=True`` (an EMA teacher, whose
        weights are training state): a frozen sub-module saved in checkpoints.
        """
        teacher.requires_grad_(False)
        teacher.eval()
        if register:
            self.teacher = teacher
        else:
            object.__setattr__(self, 'teacher', teacher)
        self.teacher_scope = scope
        self._teacher_forward_cfg = forward
        if self._teacher_forward_cfg not in TEACHER_FORWARD_MODES and not str(
                self._teacher_forward_cfg).startswith('head:'):
            raise ValueError(f'teacher forward={self._teacher_forward_cfg!r} is not one of '
                             f'{TEACHER_FORWARD_MODES}')
        self._setup_input_conversion()

    def init_student_from_teacher(self, prefixes: Sequence[str]) -> Dict[str, List[str]]:
        """Copy teacher tensors under ``prefixes`` into the student where shapes match.

        Returns:
            ``{'copied': [...], 'skipped': ['name (why)', ...]}``.
        """
        report: Dict[str, List[str]] = {'copied': [], 'skipped': []}
        if not prefixes:
            return report
        s_state = self.student.state_dict()
        t_state = self.teacher.state_dict()
        names = dict(self.student.named_modules())
        for prefix in prefixes:
            if prefix not in names:
                import difflib
                close = difflib.get_close_matches(prefix, list(names), n=3)
                raise KeyError(f'student_init_from_teacher: the student has no module '
                               f'"{prefix}"' + (f'; closest: {close}' if close else ''))
        with torch.no_grad():
            for key, value in s_state.items():
                if not any(key == p or key.startswith(p + '.') for p in prefixes):
                    continue
                src = t_state.get(key)
                if src is None:
                    report['skipped'].append(f'{key} (not in the teacher)')
                elif src.shape != value.shape:
                    report['skipped'].append(
                        f'{key} (teacher {tuple(src.shape)} vs student {tuple(value.shape)})')
                else:
                    value.copy_(src)
                    report['copied'].append(key)
        from mmengine.logging import print_log
        print_log(f'student_init_from_teacher: copied {len(report["copied"])} tensors'
                  f'{": " + ", ".join(report["copied"]) if report["copied"] else ""}; '
                  f'skipped {len(report["skipped"])}'
                  f'{": " + "; ".join(report["skipped"]) if report["skipped"] else ""}',
                  logger='current')
        return report

    # --------------------------------------------------- teacher-side hooks
    # (MultiTeacherDistiller overrides these five)
    def _prepare_teacher_recorders(self) -> None:
        self.teacher_recorders = self._make_recorders('teacher', self.teacher)
        self.teacher_forward_mode = self._choose_teacher_mode(self._teacher_forward_cfg)

    def _run_teachers(self, inputs, data_samples, probe: bool = False) -> None:
        """Run the teacher (no grad) with its recorders on.

        With ``autocast`` the forward runs under ``torch.autocast`` (not the
        build-time probe, which only needs shapes); with a ``cache`` a batch
        whose samples are all stored is served from it without a forward.
        """
        cache = self.teacher_cache
        indices = None
        if cache is not None and not probe:
            from .teacher_cache import sample_indices
            indices = sample_indices(data_samples)
            if cache.complete(indices):
                self._cached_records = cache.get(
                    indices, inputs.device if isinstance(inputs, torch.Tensor) else None)
                cache.hits += 1
                return
        mode = self.teacher_forward_mode
        if probe and mode == 'loss':
            mode = 'tensor'
        with self.teacher_recorders, torch.no_grad(), \
                _autocast(inputs, None if probe else self._teacher_autocast):
            self._run(self.teacher, mode, self.teacher_inputs(inputs), data_samples, 'teacher')
        if indices is not None:
            cache.misses += 1
            cache.put(indices, {name: self._teacher_record(name) for name in cache.entries})

    def _teacher_record(self, name: str) -> Any:
        if self._cached_records is not None:
            return self._cached_records[name]
        record = self._get(self.teacher_recorders, name, 'teacher')
        return _float32(record) if self._teacher_autocast else record

    def _reset_teacher_records(self) -> None:
        self._cached_records = None
        self.teacher_recorders.reset()

    def _setup_teacher_cache(self) -> None:
        """Build ``self.teacher_cache`` from ``teacher=dict(cache=PATH)`` and read the file."""
        cfg = self._teacher_cache_cfg
        if cfg is None:
            return
        from .teacher_cache import TeacherOutputCache, weights_checksum
        multi = [n for n, e in self.entries.items() if e.num_levels is not None]
        if multi or not self.entries:
            raise ValueError(
                'teacher=dict(cache=...) stores one tensor per sample (logits, pooled '
                'features); ' + (f'distill entries {multi} record several levels. Record '
                                 'one level (dict(source=..., index=i)) or remove `cache`.'
                                 if multi else 'there is no distill entry to cache.'))
        fingerprint = dict(
            teacher_config=cfg['config'], checkpoint=cfg['checkpoint'],
            autocast=self._teacher_autocast, forward=self.teacher_forward_mode,
            records={n: repr(e.teacher_spec) for n, e in sorted(self.entries.items())},
            weights=weights_checksum(self.teacher))
        self.teacher_cache = TeacherOutputCache(cfg['path'], list(self.entries), fingerprint)
        if self.teacher_cache.load():
            from mmengine.logging import print_log
            print_log(f'teacher cache: read {len(self.teacher_cache)} samples from '
                      f'{self.teacher_cache.path}', logger='current')

    def save_teacher_cache(self) -> Optional[str]:
        """Write the teacher cache if it holds new records; returns the path written."""
        cache = self.teacher_cache
        if cache is None or not cache.dirty:
            return None
        return cache.save()

    def _teacher_modules(self) -> List[nn.Module]:
        return [self.teacher]

    @staticmethod
    def _choose_mode(model: nn.Module, recorders: RecorderManager) -> str:
        names = recorders.module_names()
        children = dict(model.named_children())
        if not names:
            return 'none'
        if names <= {'backbone'} and 'backbone' in children:
            return 'backbone'
        if names <= {'backbone', 'neck', 'extract_feat'} and hasattr(model, 'extract_feat'):
            return 'extract_feat'
        heads = names - {'backbone', 'neck', 'extract_feat'}
        if hasattr(model, 'forward_transformer'):
            # a DETR-family head takes the decoder's outputs, not extract_feat's
            return 'tensor'
        if len(heads) == 1 and hasattr(model, 'extract_feat'):
            head = next(iter(heads))
            if isinstance(children.get(head), nn.Module) and head not in ('roi_head', ):
                # call the head module itself (mmdet's tensor mode calls
                # head.forward directly, which bypasses forward hooks)
                return f'head:{head}'
        return 'tensor'

    def _choose_teacher_mode(self, requested: str) -> str:
        if requested != 'auto':
            return requested
        return self._choose_mode(self.teacher, self.teacher_recorders)

    def _setup_input_conversion(self) -> None:
        self._convert_inputs, self._norm = self._input_conversion(self.teacher)

    def _input_conversion(self, teacher: nn.Module) -> tuple:
        """Precompute how to turn the student's normalised batch into the teacher's."""
        def norm(pre):
            if pre is None or not getattr(pre, '_enable_normalize', True):
                return None, None
            mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
            if not isinstance(mean, torch.Tensor) or not isinstance(std, torch.Tensor):
                return None, None
            # float: a preprocessor configured with integer means (DarkNet's
            # mean=[0, 0, 0]) holds int64 buffers, which allclose cannot compare
            return mean.detach().clone().float(), std.detach().clone().float()

        def flips(pre):
            return bool(getattr(pre, '_channel_conversion', False))

        s_pre = self.data_preprocessor
        t_pre = getattr(teacher, 'data_preprocessor', None)
        s_mean, s_std = norm(s_pre)
        t_mean, t_std = norm(t_pre)
        same_norm = ((s_mean is None and t_mean is None)
                     or (s_mean is not None and t_mean is not None
                         and s_mean.shape == t_mean.shape and torch.allclose(s_mean, t_mean)
                         and torch.allclose(s_std, t_std)))
        same_order = flips(s_pre) == flips(t_pre)
        return not (same_norm and same_order), (s_mean, s_std, t_mean, t_std, not same_order)

    def teacher_inputs(self, inputs: torch.Tensor, conversion: Optional[tuple] = None
                       ) -> torch.Tensor:
        """The student's preprocessed batch in the teacher's normalisation."""
        convert, norm = conversion or (self._convert_inputs, self._norm)
        if not convert or not isinstance(inputs, torch.Tensor):
            return inputs
        s_mean, s_std, t_mean, t_std, flip = norm
        x = inputs
        if s_mean is not None:
            x = x * s_std.to(x) + s_mean.to(x)
        if flip:
            x = x.flip(1)
        if t_mean is not None:
            x = (x - t_mean.to(x)) / t_std.to(x)
        return x

    def _build_entries(self, probe_shape: Optional[Sequence[int]]) -> None:
        if not self.entries:
            return
        probe = self._probe(probe_shape) if probe_shape is not None else {}
        for name, entry in self.entries.items():
            s_rec, t_rec = probe.get(name, (None, None))
            self._build_entry(entry, s_rec, t_rec, probe_shape is not None)

    @torch.no_grad()
    def _probe(self, shape: Sequence[int]) -> Dict[str, tuple]:
        """Run both models once on a dummy batch; return each entry's records."""
        shape = tuple(int(s) for s in shape)
        gen = torch.Generator().manual_seed(0)
        inputs = torch.randn((2, ) + shape, generator=gen)
        data_samples = self._probe_data_samples(inputs)
        was_training = self.student.training
        self.student.eval()
        try:
            self._run_teachers(inputs, data_samples, probe=True)
            with self.student_recorders:
                self._run(self.student, self.student_forward_mode, inputs, data_samples,
                          'student')
            records = {}
            for name in self.entries:
                records[name] = (self._get(self.student_recorders, name, 'student'),
                                 self._teacher_record(name))
        except (KeyError, IndexError) as err:
            # a record that names a missing item: the recorder's message says which
            raise type(err)(f'while probing the models at build time: '
                            f'{err.args[0] if err.args else err}') from err
        except RuntimeError as err:
            raise RuntimeError(
                f'the build-time probe (a forward of a {(2, ) + shape} dummy batch through '
                f'student and teacher) failed: {type(err).__name__}: {err}. If the models '
                'need another input size set `probe_shape=(C, H, W)` in the distiller '
                'config (probe_shape=None skips the probe; connectors then need '
                'explicit channels).') from err
        finally:
            self.student.train(was_training)
            self.student_recorders.reset()
            self._reset_teacher_records()
        return records

    def _probe_data_samples(self, inputs: torch.Tensor) -> Optional[list]:
        """Image metas for the probe batch when a model's tensor forward needs them.

        MMDetection's DETR-family detectors build their attention masks from
        ``batch_input_shape`` and ``img_shape`` even in tensor mode; other
        models get ``None`` as before.
        """
        models = [self.student] + list(self._teacher_modules())
        if not any(hasattr(m, 'forward_transformer') for m in models):
            return None
        from mmdet.structures import DetDataSample
        h, w = (int(s) for s in inputs.shape[-2:])
        meta = dict(batch_input_shape=(h, w), img_shape=(h, w), pad_shape=(h, w),
                    ori_shape=(h, w), scale_factor=(1.0, 1.0))
        return [DetDataSample(metainfo=meta) for _ in range(inputs.shape[0])]

    def _run(self, model: nn.Module, mode: str, inputs, data_samples, side: str):
        if mode == 'none':
            return None
        if mode == 'backbone':
            return model.backbone(inputs)
        if mode == 'extract_feat':
            return model.extract_feat(inputs)
        if mode.startswith('head:'):
            return getattr(model, mode[len('head:'):])(model.extract_feat(inputs))
        if mode == 'tensor':
            return model(inputs, data_samples, mode='tensor')
        if mode == 'loss':
            return model(inputs, data_samples, mode='loss')
        raise ValueError(f'unknown {side} forward mode {mode!r}')

    def init_weights(self) -> None:
        """Initialise as configured, then re-apply ``student_init_from_teacher``.

        The Runner calls ``init_weights`` after building the model; without the
        second copy the student's own initialisation would overwrite the
        teacher's tensors.
        """
        super().init_weights()
        if self._init_from_teacher:
            self.init_report = self.init_student_from_teacher(self._init_from_teacher)

    # ----------------------------------------------------------------- device
    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for teacher in self._teacher_modules():
            if not any(teacher is m for m in self._modules.values()):
                teacher._apply(fn, *args, **kwargs)  # a hidden teacher moves with the student
        return self

    def train(self, mode: bool = True) -> 'SingleTeacherDistiller':
        super().train(mode)
        if not getattr(self, 'teacher_trainable', False):
            for teacher in self._teacher_modules():
                teacher.eval()
        return self

    # ---------------------------------------------------------------- forward
    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        # predict / tensor: the student alone, so evaluators work unchanged
        return self.student(inputs, data_samples, mode=mode)

    def active_entries(self) -> List[str]:
        """Entries whose weight factor is not zero (a zero factor skips them)."""
        if self.distill_stopped:
            return []
        return [n for n in self.entries if self.loss_weight_factors.get(n, 1.0) != 0]

    def set_progress(self, iteration: int, epoch: int = 0, max_iters: Optional[int] = None,
                     max_epochs: Optional[int] = None) -> None:
        """Tell the schedules where training is (plain-PyTorch loops).

        Inside MMEngine's Runner the progress is read from the message hub and
        this is not needed.
        """
        self._manual_progress = (iteration, epoch, max_iters, max_epochs)

    def _progress(self) -> Optional[tuple]:
        if self._manual_progress is not None:
            return self._manual_progress
        from mmengine.logging import MessageHub
        hub = MessageHub.get_current_instance()
        it = hub.get_info('iter')
        if it is None:
            return None
        return (it, hub.get_info('epoch') or 0, hub.get_info('max_iters'),
                hub.get_info('max_epochs'))

    def update_factors(self) -> Dict[str, float]:
        """Recompute every scheduled factor from the training progress."""
        scheduled = {n: e.schedule for n, e in self.entries.items() if e.schedule}
        if not scheduled and self.student_loss_schedule is None:
            return {}
        progress = self._progress()
        if progress is None:
            return {}
        factors = {}
        for name, cfg in scheduled.items():
            self.loss_weight_factors[name] = factors[name] = progress_factor(cfg, *progress)
        if self.student_loss_schedule is not None:
            self.student_loss_factor = factors['student'] = progress_factor(
                self.student_loss_schedule, *progress)
        return factors

    def loss(self, inputs: torch.Tensor, data_samples: Optional[list] = None) -> dict:
        """Student losses (``student.*``) and one ``distill.<entry>`` per entry."""
        losses: Dict[str, Any] = OrderedDict()
        factors = self.update_factors()
        active = self.active_entries()
        if getattr(self, 'teacher_trainable', False):
            # online distillation: the teacher trains on its own task loss
            with self.teacher_recorders:
                teacher_losses = self.teacher(self.teacher_inputs(inputs), data_samples,
                                              mode='loss')
            for key, value in teacher_losses.items():
                losses[f'teacher.{key}'] = value
        elif active:
            self._run_teachers(inputs, data_samples)
        unlabeled = _unlabeled_flags(data_samples)
        mixed = unlabeled is not None and any(unlabeled)
        try:
            with self.student_recorders:
                if self.calculate_student_loss and not mixed:
                    self._add_student_losses(
                        losses, self.student(inputs, data_samples, mode='loss'))
                elif active:
                    self._run(self.student, self.student_forward_mode, inputs, data_samples,
                              'student')
            if self.calculate_student_loss and mixed:
                # no task loss on unlabeled images (no fake "nothing here" ground truth);
                # records were taken above on the whole batch
                self._partial_student_losses(inputs, data_samples, unlabeled, losses)
            for name in active:
                value = self.distill_loss(name, data_samples)
                losses[f'distill.{name}'] = value * self.loss_weight_factors.get(name, 1.0)
        finally:
            self.student_recorders.reset()
            self._reset_teacher_records()
        for name, value in factors.items():  # logged, not optimised
            losses[f'factor.{name}'] = torch.tensor(0.0 if self.distill_stopped and
                                                    name != 'student' else value)
        return losses

    def _add_student_losses(self, losses: dict, student_losses: dict, prefix: str = 'student',
                            weight: float = 1.0) -> None:
        factor = self.student_loss_factor * weight
        for key, value in student_losses.items():
            if factor != 1.0 and 'loss' in key:
                value = _scale(value, factor)
            losses[f'{prefix}.{key}'] = value

    def _partial_student_losses(self, inputs: torch.Tensor, data_samples: list,
                                unlabeled: List[bool], losses: dict) -> None:
        """Task loss on the labeled images, and on pseudo-labeled ones when configured."""
        labeled = [i for i, u in enumerate(unlabeled) if not u]
        if labeled:
            self._add_student_losses(losses, self.student(
                inputs[labeled], [data_samples[i] for i in labeled], mode='loss'))
        if self.pseudo_labels is None:
            return
        idx = [i for i, u in enumerate(unlabeled) if u]
        pseudo = self.pseudo_label(inputs[idx], [data_samples[i] for i in idx])
        counts = torch.tensor([float(len(p.gt_instances)) for p in pseudo])
        losses['student.pseudo_boxes_per_image'] = counts.mean()
        self._add_student_losses(losses, self.student(inputs[idx], pseudo, mode='loss'),
                                 prefix='student.pseudo',
                                 weight=float(self.pseudo_labels.get('loss_weight', 1.0)))

    @torch.no_grad()
    def pseudo_label(self, inputs: torch.Tensor, data_samples: list) -> list:
        """Copies of ``data_samples`` whose ground truth is the teacher's detections.

        The teacher predicts in the student's input frame (``rescale=False``);
        detections with a score >= ``pseudo_labels['score_thr']`` become
        ``gt_instances`` (boxes and labels).
        """
        from mmengine.structures import InstanceData
        teacher = self._teacher_modules()[0]
        was_training = teacher.training
        teacher.eval()
        try:
            preds = teacher.predict(self.teacher_inputs(inputs),
                                    [s.clone() for s in data_samples], rescale=False)
        finally:
            teacher.train(was_training)
        thr = float(self.pseudo_labels.get('score_thr', 0.5))
        out = []
        for sample, pred in zip(data_samples, preds):
            keep = pred.pred_instances.scores >= thr
            new = sample.clone()
            new.gt_instances = InstanceData(bboxes=pred.pred_instances.bboxes[keep].detach(),
                                            labels=pred.pred_instances.labels[keep].detach())
            new.set_metainfo(dict(pseudo_labeled=True))
            out.append(new)
        return out

    def distill_loss(self, name: str, data_samples: Optional[list] = None) -> torch.Tensor:
        """The loss of one entry from the current records, summed over levels."""
        kwargs = {'data_samples': data_samples} if self.entries[name].pass_data_samples else {}
        return self._entry_loss(name, self._get(self.student_recorders, name, 'student'),
                                self._teacher_record(name), **kwargs)

    def _check_finite(self, log_vars: list) -> None:
        checked = [(k, v) for k, v in log_vars if k.startswith(('student.', 'teacher.',
                                                                 'distill.'))
                   and isinstance(v, torch.Tensor)]
        if not checked:
            return
        # one host sync per step: every bool() of a CUDA tensor waits for the queue, and
        # this runs before backward; the per-key search only follows a failure
        if bool(torch.isfinite(torch.stack([v.detach().float().reshape(())
                                             for _, v in checked])).all()):
            return
        bad = [k for k, v in checked if not torch.isfinite(v).all()]
        it = _iteration()
        where = f' at iteration {it}' if it is not None else ''
        values = ', '.join(f'{k}={float(v):g}' for k, v in log_vars if k in bad)
        if self.nan_policy == 'raise':
            raise FloatingPointError(
                f'non-finite loss{where}: {values}. The weights were not updated. Lower the '
                'learning rate or the loss weight of that entry, check its inputs, or set '
                "nan_policy='skip' with optim_wrapper=dict(type='kd.SkipNonFiniteOptimWrapper')"
                ' to drop such steps.')
        self.nonfinite_steps += 1
        from mmengine.logging import print_log
        print_log(f'non-finite loss{where}: {values} ({self.nonfinite_steps} so far); '
                  'kd.SkipNonFiniteOptimWrapper drops the step', logger='current', level=30)

    def parse_losses(self, losses: Dict[str, Any]):
        """Sum ``student.*loss*`` and every ``distill.*`` into ``loss``."""
        log_vars = []
        for key, value in losses.items():
            if isinstance(value, torch.Tensor):
                log_vars.append([key, value.mean()])
            elif is_list_of(value, torch.Tensor):
                log_vars.append([key, sum(v.mean() for v in value)])
            else:
                raise TypeError(f'{key} is not a tensor or a list of tensors')
        loss = sum(v for k, v in log_vars if k.startswith('distill.') or
                   (k.startswith(('student.', 'teacher.')) and 'loss' in k))
        if not isinstance(loss, torch.Tensor):
            raise RuntimeError('no loss to optimise: every distill entry is switched off '
                               'and calculate_student_loss=False')
        self._check_finite(log_vars)
        log_vars.insert(0, ['loss', loss])
        log_vars = OrderedDict((k, v.detach() if isinstance(v, torch.Tensor) else v)
                               for k, v in log_vars)
        return loss, log_vars


def _unlabeled_flags(data_samples: Optional[list]) -> Optional[List[bool]]:
    """Per-sample ``metainfo['unlabeled']`` (kd.SplitLabels / UnlabeledImageDataset)."""
    if not data_samples or not hasattr(data_samples[0], 'metainfo'):
        return None
    return [bool(s.metainfo.get('unlabeled', False)) for s in data_samples]


def _iteration() -> Optional[int]:
    from mmengine.logging import MessageHub
    return MessageHub.get_current_instance().get_info('iter')


def _scale(value, factor):
    if isinstance(value, torch.Tensor):
        return value * factor
    return [v * factor for v in value]

