"""The kd registries: scope, parents, lazy locations, cross-scope building."""
import pytest
import torch.nn as nn
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope

from kd import registry as kd_registry
from kd.registry import MODELS, build_kd_module

ALL = ['RUNNERS', 'LOOPS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
       'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
       'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR', 'TASK_UTILS',
       'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS']


@pytest.mark.parametrize('name', ALL)
def test_registries_are_kd_children_of_mmengine_roots(name):
    import mmengine.registry as root
    reg = getattr(kd_registry, name)
    assert reg.scope == 'kd'
    assert reg.parent is getattr(root, name)
    assert reg.parent.children['kd'] is reg


@MODELS.register_module(force=True)
class _ToyLossForRegistryTest(nn.Module):
    def __init__(self, loss_weight=1.0):
        super().__init__()
        self.loss_weight = loss_weight


def test_build_kd_type_with_prefix_from_mmdet_scope():
    pytest.importorskip('mmdet')
    import mmdet.registry  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmdet'):
        obj = ROOT_MODELS.build(dict(type='kd._ToyLossForRegistryTest', loss_weight=2.0))
    assert isinstance(obj, _ToyLossForRegistryTest) and obj.loss_weight == 2.0


def test_build_mmdet_type_with_prefix_from_kd_scope():
    """`mmdet.RetinaNet` in a kd-scope config builds with mmdet sub-modules."""
    pytest.importorskip('mmdet')
    cfg = dict(
        type='mmdet.RetinaNet',
        data_preprocessor=dict(type='DetDataPreprocessor'),
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3, ),
                      init_cfg=None),
        neck=None,
        bbox_head=dict(
            type='RetinaHead', num_classes=3, in_channels=64, stacked_convs=1,
            feat_channels=8,
            anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                  scales_per_octave=1, ratios=[1.0], strides=[32]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
            loss_cls=dict(type='FocalLoss', use_sigmoid=True),
            loss_bbox=dict(type='L1Loss')))
    with DefaultScope.overwrite_default_scope('kd'):
        model = MODELS.build(cfg)
    assert type(model).__name__ == 'RetinaNet'
    assert type(model.backbone).__name__ == 'ResNet'


def test_build_kd_module_prefers_kd_then_current_scope():
    pytest.importorskip('mmdet')
    import mmdet.registry  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmdet'):
        own = build_kd_module(dict(type='_ToyLossForRegistryTest'))
        foreign = build_kd_module(dict(type='L1Loss', loss_weight=3.0))
    assert isinstance(own, _ToyLossForRegistryTest)
    assert type(foreign).__name__ == 'L1Loss' and foreign.loss_weight == 3.0


def test_build_kd_module_unknown_name_suggests():
    with pytest.raises(KeyError, match='_ToyLossForRegistryTest'):
        build_kd_module(dict(type='_ToyLosForRegistryTest'))


def test_register_all_modules_sets_scope():
    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'kd'


def test_kd_config_paths_resolve():
    from mmengine.config import Config

    import kd  # noqa: F401
    from kd.utils.config import resolve_config_path
    path = resolve_config_path('kd::baselines/retinanet_student_digits.py')
    cfg = Config.fromfile(path)
    assert cfg.model.backbone.base_channels == 8
    with pytest.raises(FileNotFoundError, match='retinanet_student_digits.py'):
        resolve_config_path('kd::baselines/retinanet_studnet_digits.py')
    # a path of the earlier per-benchmark layout names the file's folder now
    with pytest.raises(FileNotFoundError,
                       match=r'at baselines/retinanet_student_digits.py .*configs/quickstart/ '
                             'was split into one folder per method'):
        resolve_config_path('kd::quickstart/retinanet_student_digits.py')
    with pytest.raises(FileNotFoundError, match=r'at kd/kd_resnet56_resnet20_cifar100.py'):
        resolve_config_path('configs/cifar100/kd_resnet56_resnet20_cifar100.py')


def test_kd_scope_falls_back_to_mmdet_names():
    """Under the kd scope (e.g. a `kd::` base config) unprefixed mmdet names resolve."""
    pytest.importorskip('mmdet')
    from kd.registry import TASK_UTILS, VISUALIZERS
    assert MODELS.get('RetinaNet').__module__.startswith('mmdet.')
    assert VISUALIZERS.get('DetLocalVisualizer').__module__.startswith('mmdet.')
    assert TASK_UTILS.get('MaxIoUAssigner').__module__.startswith('mmdet.')
    assert MODELS.get('NoSuchThingAnywhere') is None


def test_one_scope_resolver():
    """resolve_scope: foreign prefixes move into _scope_, kd. stays, search order, default."""
    pytest.importorskip('mmdet')
    from kd.registry import resolve_scope
    assert resolve_scope(dict(type='mmdet.RetinaNet'), MODELS) == dict(type='RetinaNet',
                                                                       _scope_='mmdet')
    kd_type = dict(type='kd.SingleTeacherDistiller')
    assert resolve_scope(kd_type, MODELS, ('mmdet', )) == kd_type   # the caller's scope
    assert resolve_scope(dict(type='ImageClassifier'), MODELS, ('kd', 'mmdet'))['_scope_'] == 'kd'
    # kd's own registry counts only for its own names, not its mmdet fallback
    assert '_scope_' not in resolve_scope(dict(type='RetinaNet'), MODELS, ('kd', ))
    assert resolve_scope(dict(type='RetinaNet'), MODELS, ('kd', 'mmdet'))['_scope_'] == 'mmdet'
    assert resolve_scope(dict(type='RetinaNet'), MODELS, ('kd', ), default='x')['_scope_'] == 'x'
    assert resolve_scope(dict(type='L1Loss', _scope_='kd'), MODELS, ('mmdet', ))['_scope_'] == 'kd'


def test_behaviour_is_asked_of_classes_not_read_from_names():
    """Randomness, self-made data sets and recipe_dir come from class attributes."""
    pytest.importorskip('mmdet')
    from kd.apis.runner import check_data_paths, load_config  # noqa: F401
    from kd.distillers.pipeline_randomness import declares_randomness, random_transforms
    from kd.registry import DATASETS, TRANSFORMS

    @TRANSFORMS.register_module(force=True)
    class RandomLookingButFixed:     # a name with "Random" that declares it is not
        is_random = False

    @TRANSFORMS.register_module(force=True)
    class Jitter:                    # a name without "Random" that declares it is
        is_random = True

    assert declares_randomness(TRANSFORMS.get('mmdet.RandomFlip'))          # @cache_randomness
    assert not declares_randomness(TRANSFORMS.get('mmdet.Resize'))
    assert random_transforms([dict(type='RandomLookingButFixed'), dict(type='Jitter')]) == \
        ['Jitter (a random transform)']

    @DATASETS.register_module(force=True)
    class MadeOnFirstUse:
        generates_own_files = True

    from mmengine.config import Config
    missing = dict(type='MadeOnFirstUse', ann_file='/no/such/file.json')
    check_data_paths(Config(dict(train_dataloader=dict(dataset=missing))))
    with pytest.raises(FileNotFoundError, match='no/such/file.json'):
        check_data_paths(Config(dict(train_dataloader=dict(dataset=dict(
            missing, type='DigitsLookalikeDataset')))))


def test_utils_import_nothing_above_them():
    """kd.utils is a leaf: no import of distillers, hooks, apis or visualisation.

    ``register_all_modules`` is the one exception: importing every package is its job.
    """
    import ast
    import pathlib
    root = pathlib.Path(kd_registry.__file__).parent / 'utils'
    above = ('kd.distillers', 'kd.hooks', 'kd.apis', 'kd.visualization', 'kd.engine')
    for path in root.glob('*.py'):
        tree = ast.parse(path.read_text())
        registering = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                       and f.name == 'register_all_modules' for n in ast.walk(f)}
        for node in ast.walk(tree):
            if id(node) in registering:
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ''] if isinstance(node, ast.ImportFrom) else []
            bad = [n for n in names if n.startswith(above)]
            assert not bad, f'{path.name} imports {bad}'


def test_kd_scope_prefers_mmdets_own_transforms_over_mmcvs():
    """A detection pipeline stamped _scope_='kd' (a kd:: base) gets mmdet's box-aware
    LoadAnnotations/Resize, not mmcv's generic ones of MMEngine's root registry."""
    pytest.importorskip('mmdet')
    import mmcv.transforms
    import mmdet.datasets.transforms as det_t
    from mmengine.registry import TRANSFORMS as ROOT_TRANSFORMS

    from kd.registry import TRANSFORMS
    assert ROOT_TRANSFORMS.get('LoadAnnotations') is mmcv.transforms.LoadAnnotations
    assert TRANSFORMS.get('LoadAnnotations') is det_t.LoadAnnotations
    assert TRANSFORMS.get('Resize') is det_t.Resize
    built = ROOT_TRANSFORMS.build(dict(type='LoadAnnotations', with_bbox=True, _scope_='kd'))
    assert type(built) is det_t.LoadAnnotations
    # kd's own names and root-only names are unchanged
    assert TRANSFORMS.get('RandomShiftCrop').__module__.startswith('kd.')
    assert TRANSFORMS.get('LoadImageFromFile') is mmcv.transforms.LoadImageFromFile
