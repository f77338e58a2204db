"""Registries of ``kd``: children of MMEngine's root registries, scope ``kd``.

Every registry lazily imports the package that fills it (``locations``), so a
config can name a ``kd`` type without importing anything first.

Scoped type names work in both directions:

* in a ``kd``-scope config, ``type='mmdet.RetinaNet'`` builds an MMDetection
  model *under the mmdet scope* (its own sub-modules resolve in mmdet);
* in an MMDetection config (``default_scope='mmdet'``),
  ``type='kd.SingleTeacherDistiller'`` builds the ``kd`` distiller.

Components that ``kd`` builds for itself (losses, connectors, recorders) go
through :func:`build_kd_module`, which looks in ``kd`` first and then in the
current default scope, so an unprefixed ``'ChannelWiseDivergence'`` works in a
recipe whose default scope is ``mmdet`` and an mmdet loss such as
``'L1Loss'`` works as a distillation loss.
"""
from __future__ import annotations

import copy
from typing import Any, Sequence

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import (
    DefaultScope,
    Registry,
    build_from_cfg,
    build_model_from_cfg,
    build_runner_from_cfg,
)

# Scopes searched, in order, for a name that is neither in kd nor in MMEngine.
FALLBACK_SCOPES = ('mmdet', 'mmpretrain')


def current_scope() -> str | None:
    """The default scope MMEngine is in now (``None`` outside any)."""
    current = DefaultScope.get_current_instance()
    return current.scope_name if current is not None else None


def import_scope(scope: str) -> bool:
    """Import what registers ``scope``'s modules; ``False`` when it is not installed."""
    try:
        __import__(f'{scope}.registry')
        if scope == 'mmdet':
            import mmdet.models  # noqa: F401  (mmdet registers its models on import)
    except ImportError:
        return False
    return True


def _registry_of(scope: str, registry: Registry) -> Registry | None:
    """The registry of the same kind as ``registry`` in ``scope`` (imported on need)."""
    if scope == registry.scope:
        registry.import_from_location()
        return registry
    root = registry._get_root_registry()
    found = root._search_child(scope)
    if found is None and import_scope(scope):
        found = root._search_child(scope)
    return found


def find_scope(name: str, registry: Registry, search: Sequence[str | None]) -> str | None:
    """The first scope of ``search`` whose registry of ``registry``'s kind has ``name``.

    The registry's own scope counts only for names registered in it (not its
    parents' or fallbacks'); another scope's registry is asked as MMEngine asks it
    (itself, then its parents).
    """
    for scope in search:
        if not scope:
            continue
        reg = _registry_of(scope, registry)
        if reg is registry:
            if name in registry.module_dict:
                return scope
        elif reg is not None and Registry.get(reg, name) is not None:
            return scope
    return None


def resolve_scope(cfg: Any, registry: Registry, search: Sequence[str | None] = (),
                  default: str | None = None) -> Any:
    """``cfg`` with ``_scope_`` set to the scope its type is built in: the one resolver.

    * ``_scope_`` already set, or ``type`` not a name: unchanged;
    * a foreign prefix (``'mmdet.RetinaNet'``): ``_scope_='mmdet'`` and the bare
      name, so the model's own sub-modules resolve in mmdet too. A ``'kd.'`` prefix
      stays: kd types (the distiller, DigitsDetDataset) build their inner parts
      (an mmdet student, an mmdet pipeline) in the scope of the recipe that uses them;
    * an unprefixed name: the first scope of ``search`` that has it
      (:func:`find_scope`), else ``default`` (unchanged without one).
    """
    if not isinstance(cfg, dict) or '_scope_' in cfg:
        return cfg
    obj_type = cfg.get('type')
    if not isinstance(obj_type, str):
        return cfg
    if '.' in obj_type:
        scope, _, name = obj_type.partition('.')
        if scope and scope != 'kd' and name and '.' not in name:
            cfg = copy.copy(cfg)
            cfg['_scope_'], cfg['type'] = scope, name
        return cfg
    scope = find_scope(obj_type, registry, search) or default
    if scope is not None:
        cfg = copy.copy(cfg)
        cfg['_scope_'] = scope
    return cfg


class KDRegistry(Registry):
    """A registry whose scope falls back to MMDetection's.

    ``kd`` wraps MMDetection models, so under the ``kd`` default scope an
    unprefixed mmdet name (``'ResNet'``, ``'DetLocalVisualizer'``) must still
    resolve: MMDetection builds its sub-modules with whatever scope is the
    default, and MMEngine gives every dict of a ``kd::`` base config
    ``_scope_='kd'``.  ``get`` looks in ``kd``, then MMEngine's root, then the
    registries of ``FALLBACK_SCOPES`` (:func:`find_scope`).

    One exception to that order: a name that kd does not register but a
    fallback scope registers *itself* resolves to the fallback's class before
    MMEngine's root. Such a name is a specialisation of a generic root class:
    mmdet's box-aware ``LoadAnnotations``, ``Resize`` and ``RandomFlip``
    replace mmcv's. Without it, a detection pipeline inherited from a
    ``kd::`` dataset base (every dict stamped ``_scope_='kd'``) would get
    mmcv's ``LoadAnnotations``, whose samples lack the ignore flags mmdet's
    heads read.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault('build_func', _build_in_type_scope)
        super().__init__(*args, **kwargs)

    def _specialised(self, key: str):
        """The class a fallback scope registers itself under ``key`` (or None)."""
        for scope in FALLBACK_SCOPES:
            found = _registry_of(scope, self)
            if found is not None and key in found._module_dict:
                return found._module_dict[key]
        return None

    def get(self, key: str):
        if isinstance(key, str) and '.' not in key and key not in self._module_dict:
            self.import_from_location()
            if key not in self._module_dict:
                root = self._get_root_registry()
                if key in root._module_dict:   # a generic root class: mmdet's own first
                    special = self._specialised(key)
                    if special is not None:
                        return special
        obj = super().get(key)
        if obj is not None or not isinstance(key, str) or '.' in key:
            return obj
        scope = find_scope(key, self, FALLBACK_SCOPES)
        return Registry.get(_registry_of(scope, self), key) if scope else None


def _own_scope(cfg: Any, registry: Registry) -> Any:
    """An unprefixed kd type asked of a kd registry is built in the kd scope.

    ``kd.registry.MODELS.build(dict(type='ImageClassifier'))`` must work even
    when the current default scope is mmdet (a detection Runner sets it).
    """
    return resolve_scope(cfg, registry, ('kd', ))


def _build_in_type_scope(cfg, registry, default_args=None):
    return build_from_cfg(_own_scope(cfg, registry), registry, default_args)


def _build_model_in_type_scope(cfg, registry, default_args=None):
    if isinstance(cfg, list):
        return build_model_from_cfg(cfg, registry, default_args)
    return build_model_from_cfg(_own_scope(cfg, registry), registry, default_args)


RUNNERS = KDRegistry('runner', parent=MMENGINE_RUNNERS, scope='kd',
                   build_func=build_runner_from_cfg)
LOOPS = KDRegistry('loop', parent=MMENGINE_LOOPS, scope='kd', locations=['kd.engine'])
HOOKS = KDRegistry('hook', parent=MMENGINE_HOOKS, scope='kd', locations=['kd.hooks'])
DATASETS = KDRegistry('dataset', parent=MMENGINE_DATASETS, scope='kd',
                    locations=['kd.datasets'], build_func=_build_in_type_scope)
DATA_SAMPLERS = KDRegistry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='kd',
                         locations=['kd.datasets'])
TRANSFORMS = KDRegistry('transform', parent=MMENGINE_TRANSFORMS, scope='kd',
                      locations=['kd.datasets'], build_func=_build_in_type_scope)
MODELS = KDRegistry('model', parent=MMENGINE_MODELS, scope='kd',
                  locations=['kd.distillers', 'kd.recorders', 'kd.connectors',
                             'kd.losses', 'kd.models'],
                  build_func=_build_model_in_type_scope)
MODEL_WRAPPERS = KDRegistry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope='kd',
                          locations=['kd.distillers'])
WEIGHT_INITIALIZERS = KDRegistry('weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS,
                               scope='kd')
OPTIMIZERS = KDRegistry('optimizer', parent=MMENGINE_OPTIMIZERS, scope='kd')
OPTIM_WRAPPERS = KDRegistry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='kd',
                            locations=['kd.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = KDRegistry('optimizer wrapper constructor',
                                      parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope='kd')
PARAM_SCHEDULERS = KDRegistry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS,
                            scope='kd')
METRICS = KDRegistry('metric', parent=MMENGINE_METRICS, scope='kd',
                   locations=['kd.evaluation'])
EVALUATOR = KDRegistry('evaluator', parent=MMENGINE_EVALUATOR, scope='kd',
                     locations=['kd.evaluation'])
TASK_UTILS = KDRegistry('task util', parent=MMENGINE_TASK_UTILS, scope='kd')
VISUALIZERS = KDRegistry('visualizer', parent=MMENGINE_VISUALIZERS, scope='kd')
VISBACKENDS = KDRegistry('vis_backend', parent=MMENGINE_VISBACKENDS, scope='kd')
LOG_PROCESSORS = KDRegistry('log_processor', parent=MMENGINE_LOG_PROCESSORS, scope='kd')


def build_kd_module(cfg: dict, registry: Registry = MODELS, **default_args: Any):
    """Build a component that ``kd`` itself asks for (loss, connector, ...).

    Looks the type up in the ``kd`` scope first, then in the current default
    scope (e.g. ``mmdet`` for a detection recipe), so both
    ``'ChannelWiseDivergence'`` and ``'L1Loss'`` (mmdet) work as loss types.

    Raises:
        KeyError: the type exists in neither scope; the message names both
            scopes and the closest registered names.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'expected a config dict with a "type" key, got {cfg!r}')
    scope = current_scope()
    cfg = resolve_scope(dict(cfg), registry, ('kd', scope))
    if '_scope_' in cfg or not isinstance(cfg['type'], str) or '.' in cfg['type']:
        return registry.build(cfg, default_args=default_args or None)  # found, a class, kd.X
    name = cfg['type']
    import difflib
    close = difflib.get_close_matches(name, list(registry.module_dict), n=5, cutoff=0.5)
    hint = f' Closest kd names: {", ".join(close)}.' if close else ''
    raise KeyError(
        f'"{name}" is not a registered {registry.name} in scope "kd"'
        + (f' nor in the current scope "{scope}"' if scope and scope != 'kd' else '')
        + f'.{hint} Register it with @kd.registry.MODELS.register_module() or '
        'use a scoped name such as "mmdet.L1Loss".')
