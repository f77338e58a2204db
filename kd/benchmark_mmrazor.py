"""Helpers of ``tools/analysis_tools/mmrazor_compare.py`` (kd against MMRazor 1.0.0).

Nothing here imports MMRazor (kd never does): these are the pure parts of the
comparison, tested without it.

* :func:`rename_state_dict` / :func:`copy_weights`: copy one model's weights into
  another whose parameter names differ by prefixes (kd's
  ``entries.fpn.connectors.0.conv.weight`` is MMRazor's
  ``distiller.connectors.fpn0.conv_module.conv.weight``), strictly: every source
  key must be renamed, every destination key filled, every shape equal.
* :func:`flatten_losses`, :func:`match_losses`: both toolboxes' loss dicts on the
  same batch, summed over lists (per-level losses) and grouped (MMRazor has one
  loss per FPN level, kd one entry summing them), then compared after the
  reduction accounting ``kd = factor * MMRazor + offset`` (:class:`Accounting`).
* :func:`wsld_entropy_offset`: the offset of WSLD (MMRazor writes the soft
  cross-entropy, kd the KL divergence; they differ by the weighted teacher entropy).
* :func:`peak_growth`: the peak of live allocated bytes from a stream of allocation
  events (``torch.profiler`` with ``profile_memory=True``), above the start.
* :func:`ratio_stats`, :func:`format_table`, :func:`replace_block`: the per-repeat
  step-time ratios and the Markdown table written to ``docs/benchmark.md``.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# ------------------------------------------------------------------ weights


def rename_state_dict(state: Mapping[str, Any],
                      rules: Sequence[tuple[str, str | None]]) -> dict[str, Any]:
    """Rename the keys of ``state`` by the first rule whose source prefix matches.

    Args:
        state: a state dict (or any mapping with string keys).
        rules: ``(source_prefix, destination_prefix)`` pairs, tried in order; a
            destination of ``None`` drops the matching keys.

    Returns:
        A new dict with the renamed keys (values are the same objects).

    Raises:
        KeyError: a key matches no rule, or two keys are renamed to the same name.
    """
    out: dict[str, Any] = {}
    unmatched = []
    for key, value in state.items():
        for src, dst in rules:
            if key.startswith(src):
                if dst is None:
                    break
                new = dst + key[len(src):]
                if new in out:
                    raise KeyError(f'rename_state_dict: "{key}" and another key both become '
                                   f'"{new}"; make the rules more specific.')
                out[new] = value
                break
        else:
            unmatched.append(key)
    if unmatched:
        raise KeyError(f'rename_state_dict: {len(unmatched)} key(s) match no rule, e.g. '
                       f'{unmatched[:5]}; add a (prefix, new_prefix) rule for them, or '
                       f'(prefix, None) to drop them.')
    return out


def copy_weights(source: Mapping[str, Tensor], target: nn.Module,
                 rules: Sequence[tuple[str, str | None]]) -> int:
    """Copy ``source`` (a state dict) into ``target`` after :func:`rename_state_dict`.

    Every key of ``target.state_dict()`` must be filled and every shape must
    match; the copy is ``load_state_dict(strict=True)``.

    Returns:
        The number of tensors copied.

    Raises:
        KeyError: keys missing in or unexpected for ``target``, or shape mismatches
            (all listed, with the rule list to fix).
    """
    renamed = rename_state_dict(source, rules)
    expected = target.state_dict()
    missing = sorted(set(expected) - set(renamed))
    unexpected = sorted(set(renamed) - set(expected))
    shapes = [f'{k}: {tuple(renamed[k].shape)} vs {tuple(expected[k].shape)}'
              for k in sorted(set(renamed) & set(expected))
              if tuple(renamed[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing in the source, e.g. {missing[:5]}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected in the target, e.g. {unexpected[:5]}')
        if shapes:
            parts.append(f'{len(shapes)} shape mismatch(es): {shapes[:5]}')
        raise KeyError(f'copy_weights into {type(target).__name__}: ' + '; '.join(parts)
                       + f'. The renaming rules were {list(rules)}; the two models are not '
                       f'the same recipe or the rules miss a module.')
    target.load_state_dict(renamed, strict=True)
    return len(renamed)


# ------------------------------------------------------------------- losses


def _as_float(value: Any) -> float:
    if isinstance(value, Tensor):
        return float(value.detach().double().sum())
    if isinstance(value, (list, tuple)):
        return float(sum(_as_float(v) for v in value))
    return float(value)


def flatten_losses(losses: Mapping[str, Any], skip_prefixes: Iterable[str] = ('factor.',)
                   ) -> dict[str, float]:
    """``{key: float}`` of a loss dict; list values (per level) are summed.

    Keys starting with one of ``skip_prefixes`` (kd's logged schedule factors) and
    keys without ``loss`` or a ``distill.`` prefix (logged metrics such as accuracy)
    are left out, as both toolboxes' ``parse_losses`` leave them out of the total.
    """
    skip = tuple(skip_prefixes)
    out = {}
    for key, value in losses.items():
        if key.startswith(skip) or not ('loss' in key or key.startswith('distill.')):
            continue
        out[key] = _as_float(value)
    return out


@dataclass
class Accounting:
    """How an MMRazor value maps onto kd's: ``kd = factor * sum(MMRazor keys) + offset``.

    Args:
        factor: multiplies the MMRazor sum (a reduction: ``1 / N`` for a sum over
            the batch that kd averages).
        offset: added after the factor (a term that does not depend on the student).
        why: the reason, printed in the notes.
    """
    factor: float = 1.0
    offset: float = 0.0
    why: str = ''

    def apply(self, value: float) -> float:
        return self.factor * value + self.offset


@dataclass
class LossRow:
    """One compared loss: kd's key, the MMRazor keys summed into it, the values."""
    kd_key: str
    mm_keys: list[str]
    kd: float
    mm: float
    mm_accounted: float
    accounting: Accounting = field(default_factory=Accounting)

    @property
    def abs_diff(self) -> float:
        return abs(self.kd - self.mm_accounted)

    def agrees(self, tol: float = 1e-5) -> bool:
        """``|kd - accounted| <= tol * max(1, |accounted|)``."""
        return self.abs_diff <= tol * max(1.0, abs(self.mm_accounted))


def match_losses(kd: Mapping[str, float], mm: Mapping[str, float],
                 groups: Mapping[str, Sequence[str]],
                 accounting: Mapping[str, Accounting] | None = None) -> list[LossRow]:
    """Pair kd's loss keys with (sums of) MMRazor's, after the accounting.

    Args:
        kd: kd's flattened losses (:func:`flatten_losses`).
        mm: MMRazor's flattened losses.
        groups: ``{kd_key: [mm_key, ...]}``; a kd key not named here is paired with
            the MMRazor key of the same name (the task losses, ``student.loss_cls``).
        accounting: per kd key, how the MMRazor sum maps to it (default: equal).

    Raises:
        KeyError: a key on either side has no partner (listed).
    """
    accounting = dict(accounting or {})
    rows = []
    used: set[str] = set()
    missing = []
    for key in kd:
        names = list(groups.get(key, [key]))
        absent = [n for n in names if n not in mm]
        if absent:
            missing.append(f'kd "{key}" -> MMRazor {absent}')
            continue
        used.update(names)
        acc = accounting.get(key, Accounting())
        total = sum(mm[n] for n in names)
        rows.append(LossRow(key, names, kd[key], total, acc.apply(total), acc))
    unpaired = sorted(set(mm) - used)
    if missing or unpaired:
        raise KeyError('match_losses: ' + '; '.join(
            missing + ([f'MMRazor keys without a kd partner: {unpaired}'] if unpaired else []))
            + '. The two recipes do not compute the same losses; check the method spec.')
    return rows


def wsld_entropy_offset(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor,
                        tau: float, loss_weight: float) -> float:
    """``kd WSLD - MMRazor WSLD`` on the same logits: ``-lw * tau**2 * mean_n w_n H(p_t)``.

    MMRazor's ``WSLD`` (as the authors' ``wsl.py``) weights the soft cross-entropy
    ``-sum_c p_t log p_s``; kd's ``WSLDLoss`` weights the KL divergence
    ``sum_c p_t (log p_t - log p_s)``. The difference is ``w_n * H(p_t)``, which does
    not depend on the student (same gradients), with ``p_t = softmax(t / tau)`` and
    ``w_n = 1 - exp(-max(CE_s / (CE_t + 1e-7), 0))`` (hard-label CEs at temperature 1).
    """
    s, t = student_logits.detach().double(), teacher_logits.detach().double()
    log_pt = F.log_softmax(t / tau, dim=1)
    entropy = -(log_pt.exp() * log_pt).sum(1)
    ce_s = -F.log_softmax(s, dim=1).gather(1, labels[:, None].long()).squeeze(1)
    ce_t = -F.log_softmax(t, dim=1).gather(1, labels[:, None].long()).squeeze(1)
    weight = 1 - torch.exp(-(ce_s / (ce_t + 1e-7)).clamp(min=0))
    return float(-loss_weight * tau**2 * (weight * entropy).mean())


def max_grad_diff(kd_grads: Mapping[str, Tensor | None], mm_grads: Mapping[str, Tensor | None],
                  rules: Sequence[tuple[str, str | None]]) -> tuple[float, float]:
    """``(max |g_kd - g_mm|, max |g_mm|)`` over the parameters both sides train.

    ``kd_grads`` is renamed with ``rules`` (as :func:`copy_weights`); a gradient
    that is ``None`` on one side counts as zeros.
    """
    renamed = rename_state_dict(kd_grads, rules)
    diff = scale = 0.0
    for name, g_mm in mm_grads.items():
        g_kd = renamed.get(name)
        if g_kd is None and g_mm is None:
            continue
        if g_kd is None:
            g_kd = torch.zeros_like(g_mm)
        if g_mm is None:
            g_mm = torch.zeros_like(g_kd)
        diff = max(diff, float((g_kd.double() - g_mm.double()).abs().max()))
        scale = max(scale, float(g_mm.abs().max()))
    return diff, scale


# ------------------------------------------------------------------- memory


def peak_growth(events: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """``(peak, end)`` of the running sum of allocation sizes, in time order.

    Args:
        events: ``(time, nbytes)`` pairs, ``nbytes > 0`` an allocation, ``< 0`` a
            free (memory that was live before the window may be freed inside it,
            so the running sum can go negative).

    Returns:
        The highest running sum (at least 0: nothing above the start) and the sum at
        the end, in bytes.
    """
    current = peak = 0
    for _, nbytes in sorted(events, key=lambda e: e[0]):
        current += nbytes
        peak = max(peak, current)
    return peak, current


# ------------------------------------------------------------------- timing


def ratio_stats(kd_rounds: Sequence[Sequence[float]],
                mm_rounds: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Step-time ratios kd / MMRazor of interleaved rounds.

    Each round ``r`` gives ``median(kd_rounds[r]) / median(mm_rounds[r])``.

    Returns:
        ``median`` (of the per-round ratios), ``min``, ``max``, ``rounds`` (the
        per-round ratios), and the medians of all kd and MMRazor times
        (``kd_ms``, ``mm_ms``) with ``overall`` their ratio.
    """
    if len(kd_rounds) != len(mm_rounds) or not kd_rounds:
        raise ValueError(f'ratio_stats needs as many kd as MMRazor rounds (>= 1), got '
                         f'{len(kd_rounds)} and {len(mm_rounds)}')
    rounds = [statistics.median(k) / statistics.median(m)
              for k, m in zip(kd_rounds, mm_rounds)]
    kd_ms = statistics.median([x for r in kd_rounds for x in r])
    mm_ms = statistics.median([x for r in mm_rounds for x in r])
    return dict(median=statistics.median(rounds), min=min(rounds), max=max(rounds),
                rounds=rounds, kd_ms=kd_ms, mm_ms=mm_ms, overall=kd_ms / mm_ms)


# ------------------------------------------------------------------- tables

TABLE_HEADER = ('| method | task | loss agreement (max abs diff) | kd / MMRazor step '
                '(median, min-max) | kd ms | MMRazor ms | kd / MMRazor peak memory | notes |\n'
                '|---|---|---|---|---|---|---|---|')


def _sci(x: float) -> str:
    return '0' if x == 0 else f'{x:.1e}'


def table_row(result: Mapping[str, Any]) -> str:
    """One Markdown row of a method's result (see :data:`TABLE_HEADER`).

    ``result`` has ``method``, ``task``, ``losses`` (a list of dicts with ``kd_key``,
    ``abs_diff``, ``agrees``), ``time`` (from :func:`ratio_stats`), ``memory``
    (``ratio`` or ``None``; ``kd`` and ``mm`` with ``bytes``) and ``notes``; a
    method that failed has ``error``.
    """
    name, task = result['method'], result.get('task', '-')
    if result.get('error'):
        return f'| {name} | {task} | - | - | - | - | - | failed: {result["error"]} |'
    losses = result['losses']
    worst = max((row['abs_diff'] for row in losses), default=0.0)
    agree = all(row['agrees'] for row in losses)
    verdict = 'equal' if agree else 'differ: ' + ', '.join(
        row['kd_key'] for row in losses if not row['agrees'])
    t = result['time']
    mem = result.get('memory') or {}
    mem_text = '-' if mem.get('ratio') is None else (
        f'{mem["ratio"]:.2f} ({mem["kd"]["bytes"] / 2**20:.0f} / '
        f'{mem["mm"]["bytes"] / 2**20:.0f} MiB)')
    return (f'| {name} | {task} | {verdict} ({_sci(worst)}) | '
            f'{t["median"]:.2f} ({t["min"]:.2f}-{t["max"]:.2f}) | {t["kd_ms"]:.1f} | '
            f'{t["mm_ms"]:.1f} | {mem_text} | {result.get("notes", "")} |')


def format_table(results: Sequence[Mapping[str, Any]]) -> str:
    """The header and one row per result."""
    return '\n'.join([TABLE_HEADER] + [table_row(r) for r in results])


def replace_block(text: str, block: str, begin: str, end: str) -> str:
    """Put ``block`` between the marker lines ``begin`` and ``end`` of ``text``.

    Raises:
        ValueError: a marker is missing or they are out of order.
    """
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < 0 or j < i:
        raise ValueError(f'replace_block: the markers {begin!r} and {end!r} must both be in '
                         f'the text, in this order; add them where the table belongs.')
    return text[:i + len(begin)] + '\n' + block.strip('\n') + '\n' + text[j:]

