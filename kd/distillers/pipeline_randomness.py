"""Whether a data pipeline is random: the rule the teacher output cache relies on.

A cached teacher output belongs to one view of an image, so ``teacher=dict(cache=...)``
needs a deterministic training pipeline. A transform is asked, not named: its
class declares randomness (:func:`declares_randomness`), or it has a
``0 < prob < 1``; :data:`KNOWN_RANDOM_TRANSFORMS` lists the random augmentations
that carry no such mark.
"""
from __future__ import annotations

from typing import Any

#: random augmentations that carry no mark of it (neither ``is_random`` nor mmcv's
#: ``@cache_randomness`` on one of their methods)
KNOWN_RANDOM_TRANSFORMS = frozenset({
    'PhotoMetricDistortion', 'Mosaic', 'MixUp', 'CachedMosaic', 'CachedMixUp', 'CopyPaste',
    'Expand', 'AutoAugment', 'RandAugment', 'TrivialAugmentWide', 'Albu', 'ColorJitter',
    'ColorJitterImage', 'GaussianBlur', 'Cutout', 'CutOut', 'RandomErasing',
    'RandomCenterCropPad'})


def _type_name(transform: Any) -> str:
    """Class name of a transform config (``dict(type=...)``) or object, without a scope."""
    if isinstance(transform, dict):
        kind = transform.get('type', '')
        name = kind.__name__ if isinstance(kind, type) else str(kind)
    else:
        name = type(transform).__name__
    return name.rpartition('.')[2]


def _transform_class(transform: Any) -> type | None:
    """The class of a built transform, or of a config's ``type`` (``None`` if unknown)."""
    if not isinstance(transform, dict):
        return type(transform)
    kind = transform.get('type')
    if isinstance(kind, type):
        return kind
    from kd.registry import TRANSFORMS
    try:
        return TRANSFORMS.get(str(kind))
    except (KeyError, ImportError):
        return None


def declares_randomness(cls: type | None) -> bool:
    """Whether a transform class says it is random.

    A class attribute ``is_random`` (kd's transforms) decides; otherwise a method
    decorated with mmcv's ``@cache_randomness`` (listed in ``_methods_with_randomness``,
    as in ``RandomFlip``, ``RandomResize``, ``Mosaic``, ...) marks it random.
    """
    if cls is None:
        return False
    flag = getattr(cls, 'is_random', None)
    if isinstance(flag, bool):
        return flag
    return bool(getattr(cls, '_methods_with_randomness', None))


def _get(transform: Any, key: str) -> Any:
    if isinstance(transform, dict):
        return transform.get(key)
    return getattr(transform, key, None)


def _is_random(transform: Any) -> str | None:
    """Why ``transform`` is random (a short reason) or ``None``."""
    name = _type_name(transform)
    if declares_randomness(_transform_class(transform)):
        return f'{name} (a random transform)'
    if name in KNOWN_RANDOM_TRANSFORMS:
        return f'{name} (a random augmentation)'
    prob = _get(transform, 'prob')
    probs = prob if isinstance(prob, (list, tuple)) else [prob]
    for p in probs:
        if isinstance(p, (int, float)) and not isinstance(p, bool) and 0 < p < 1:
            return f'{name} (prob={prob})'
    return None


def random_transforms(pipeline: Any) -> list[str]:
    """The random transforms of a pipeline (configs or built transforms), nested ones too.

    A transform counts as random when its class says so (:func:`declares_randomness`:
    ``is_random = True``, or mmcv's ``@cache_randomness`` on a method, as in
    ``RandomFlip``, ``RandomResize``, ``MinIoURandomCrop``, kd's ``RandomShiftCrop``),
    when it is one of :data:`KNOWN_RANDOM_TRANSFORMS` (unmarked ones such as
    ``ColorJitter``), or when it has a ``prob`` between 0 and 1 (exclusive). A
    config's ``type`` is looked up in the registries to find its class.
    Transforms inside ``transforms=[...]`` (``Compose``, ``TransformBroadcaster``)
    are inspected as well.
    """
    if pipeline is None:
        return []
    items = getattr(pipeline, 'transforms', pipeline)
    if isinstance(items, dict) or not isinstance(items, (list, tuple)):
        items = [items]
    found = []
    for transform in items:
        reason = _is_random(transform)
        if reason:
            found.append(reason)
        inner = _get(transform, 'transforms')
        if isinstance(inner, (list, tuple)):
            found.extend(random_transforms(list(inner)))
    return found


def refuse_random_pipeline(pipeline: Any, where: str) -> None:
    """Raise ``ValueError`` when ``pipeline`` has random transforms (the cache needs none)."""
    found = random_transforms(pipeline)
    if found:
        raise ValueError(
            f'teacher=dict(cache=...) needs a deterministic training pipeline, but {where} '
            f'has random transforms: {", ".join(found)}. A cached teacher output would '
            'belong to another view of the image than the one the student sees. Remove the '
            'random transforms (and any transform with 0 < prob < 1) from the training '
            'pipeline, or remove `cache` from the teacher config.')
