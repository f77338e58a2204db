"""A per-sample store of a frozen teacher's records (``teacher=dict(cache=PATH)``).

Logits distillation with a frozen teacher and a deterministic training
pipeline sees the same teacher output for a data set sample in every epoch.
:class:`TeacherOutputCache` keeps each distill entry's teacher record per
data set index (``sample_idx`` in the data samples' metainfo) while the first
epoch runs; a batch whose samples are all stored is then served from the
cache and the teacher forward is skipped.

Rules (see ``docs/architecture.md``, "Teacher output cache"):

* only single-tensor records whose first dimension is the batch (logits,
  pooled features) are cached; multi-level (tuple) records are refused at
  build time, any other record type on the first step;
* the training pipeline must be deterministic: ``kd.apis.build_runner`` and
  :class:`kd.hooks.TeacherCacheHook` refuse transforms whose class declares
  randomness, known random augmentations and transforms with ``0 < prob < 1``
  (:func:`kd.distillers.pipeline_randomness.random_transforms`);
* the file records what it was made from (teacher config, checkpoint, entry
  records, autocast and a checksum of the teacher's weights); a file made
  from something else is refused with a message naming the difference;
* it is written atomically (``kd.utils.atomic.atomic_torch_save``) at the end
  of every training epoch and at the end of training (``TeacherCacheHook``),
  and read when the distiller is built; in a distributed run every rank keeps
  and writes its own file (``PATH`` with ``.rank<r>`` before the extension).
"""
from __future__ import annotations

import os.path as osp
from typing import Any, Sequence

import torch
from torch import Tensor

CACHE_VERSION = 1

def sample_indices(data_samples: Sequence[Any] | None) -> list[int]:
    """``sample_idx`` of every data sample (data elements or dicts), or a ``ValueError``."""
    if not data_samples:
        raise ValueError('the teacher cache needs the batch\'s data samples (with '
                         '`sample_idx` in their metainfo); this batch has none')
    out = []
    for i, sample in enumerate(data_samples):
        if isinstance(sample, dict):
            value = sample.get('sample_idx')
        else:
            meta = getattr(sample, 'metainfo', None) or {}
            value = meta.get('sample_idx', getattr(sample, 'sample_idx', None))
        if value is None:
            raise ValueError(
                f'the teacher cache keys records by the data set index, but data_samples[{i}]'
                ' has no `sample_idx` in its metainfo. kd.PackClsInputs keeps it by default; '
                "for PackDetInputs add it: dict(type='PackDetInputs', meta_keys=('img_id', "
                "'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'sample_idx')).")
        out.append(int(torch.as_tensor(value).reshape(-1)[0]))
    return out


def rank_path(path: str) -> str:
    """``path`` for this process: ``name.rank<r>.ext`` in a distributed run."""
    from mmengine.dist import get_dist_info
    rank, world_size = get_dist_info()
    if world_size <= 1:
        return path
    root, ext = osp.splitext(path)
    return f'{root}.rank{rank}{ext}'


def weights_checksum(model: torch.nn.Module) -> float:
    """A cheap checksum of a model's floating-point state (sum of absolute values, float64)."""
    total = 0.0
    with torch.no_grad():
        for value in model.state_dict().values():
            if torch.is_floating_point(value):
                total += float(value.detach().double().abs().sum())
    return total


class TeacherOutputCache:
    """Teacher records per data set index, for every distill entry.

    Args:
        path: the file (``.rank<r>`` is inserted in distributed runs).
        entries: the distill entry names whose teacher records are cached.
        fingerprint: what the records were made from; a stored file must match.
    """

    def __init__(self, path: str, entries: Sequence[str], fingerprint: dict[str, Any]) -> None:
        self.path = rank_path(str(path))
        self.entries = list(entries)
        self.fingerprint = dict(fingerprint)
        self.store: dict[str, dict[int, Tensor]] = {e: {} for e in self.entries}
        self.hits = 0        # batches served from the cache
        self.misses = 0      # batches the teacher ran for
        self.dirty = False   # records added since the last save

    def __len__(self) -> int:
        """Number of samples stored for every entry."""
        if not self.entries:
            return 0
        return min(len(self.store[e]) for e in self.entries)

    # ------------------------------------------------------------------ use
    def complete(self, indices: Sequence[int]) -> bool:
        """Whether every entry has a record for every index."""
        return all(i in self.store[e] for e in self.entries for i in indices)

    def get(self, indices: Sequence[int], device: Any = None) -> dict[str, Tensor]:
        """Stacked records ``(len(indices), ...)`` per entry, on ``device``."""
        out = {}
        for e in self.entries:
            batch = torch.stack([self.store[e][i] for i in indices])
            out[e] = batch.to(device, non_blocking=True) if device is not None else batch
        return out

    def put(self, indices: Sequence[int], records: dict[str, Any]) -> None:
        """Store each entry's batch record row by row (on the CPU)."""
        for e in self.entries:
            record = records[e]
            if not isinstance(record, Tensor):
                raise TypeError(
                    f'distill entry "{e}": the teacher cache stores single tensors (logits, '
                    f'pooled features) but the teacher record is a {type(record).__name__}; '
                    'remove `cache` from the teacher config or record one tensor.')
            if record.dim() == 0 or record.shape[0] != len(indices):
                raise ValueError(
                    f'distill entry "{e}": the teacher cache needs records whose first '
                    f'dimension is the batch ({len(indices)}), got shape {tuple(record.shape)}')
            rows = record.detach().to('cpu')
            store = self.store[e]
            for j, i in enumerate(indices):
                store[i] = rows[j].clone()
        self.dirty = True

    # ------------------------------------------------------------ file I/O
    def state(self) -> dict[str, Any]:
        entries = {}
        for e in self.entries:
            keys = sorted(self.store[e])
            entries[e] = dict(
                index=torch.tensor(keys, dtype=torch.long),
                values=torch.stack([self.store[e][k] for k in keys]) if keys else None)
        return dict(version=CACHE_VERSION, fingerprint=self.fingerprint, entries=entries)

    def save(self, path: str | None = None) -> str:
        """Write the cache atomically; returns the path written."""
        from kd.utils.atomic import atomic_torch_save
        path = path or self.path
        atomic_torch_save(self.state(), path)
        self.dirty = False
        return path

    def load(self, path: str | None = None) -> bool:
        """Read the file if it exists (``False`` when there is none)."""
        path = path or self.path
        if not osp.isfile(path):
            return False
        state = torch.load(path, map_location='cpu', weights_only=True)
        if not isinstance(state, dict) or state.get('version') != CACHE_VERSION:
            raise ValueError(f'{path} is not a kd teacher cache (version {CACHE_VERSION}); '
                             'delete it or set another teacher cache path')
        stored = state.get('fingerprint', {})
        diff = [k for k in sorted(set(stored) | set(self.fingerprint))
                if not _same(stored.get(k), self.fingerprint.get(k))]
        if diff:
            detail = '; '.join(f'{k}: file {stored.get(k)!r} vs now '
                               f'{self.fingerprint.get(k)!r}' for k in diff)
            raise ValueError(
                f'the teacher cache {path} was made from another teacher or other records '
                f'({detail}). Delete the file (it is rebuilt during the next epoch) or set '
                'another teacher cache path.')
        for e in self.entries:
            item = state['entries'].get(e)
            if item is None or item['values'] is None:
                continue
            self.store[e] = {int(k): v for k, v in zip(item['index'].tolist(),
                                                       item['values'].unbind(0))}
        self.dirty = False
        return True


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))
    return a == b


def open_cache(teacher: Any, entries: dict[str, Any]) -> TeacherOutputCache:
    """The cache of a frozen ``teacher`` (``teacher.cache_cfg``) for ``entries``, read from disk.

    Refuses entries with several levels (the cache stores one tensor per sample).
    """
    multi = [n for n, e in entries.items() if e.num_levels is not None]
    if multi or not entries:
        raise ValueError(
            'teacher=dict(cache=...) stores one tensor per sample (logits, pooled '
            'features); ' + (f'distill entries {multi} record several levels. Record '
                             'one level (dict(source=..., index=i)) or remove `cache`.'
                             if multi else 'there is no distill entry to cache.'))
    cfg = teacher.cache_cfg
    fingerprint = dict(
        teacher_config=cfg['config'], checkpoint=cfg['checkpoint'],
        autocast=teacher.autocast, forward=teacher.forward_mode,
        records={n: repr(e.teacher_spec) for n, e in sorted(entries.items())},
        weights=weights_checksum(teacher.model))
    if teacher.adapt.size is not None:   # absent from files made before input_size existed
        fingerprint['input_size'] = list(teacher.adapt.size)
    cache = TeacherOutputCache(cfg['path'], list(entries), fingerprint)
    if cache.load():
        from mmengine.logging import print_log
        print_log(f'teacher cache: read {len(cache)} samples from {cache.path}',
                  logger='current')
    return cache
