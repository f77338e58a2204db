"""The bad-input catalogue: each mistake fails before training with one readable message.

Each case asserts what the message says (what is wrong, where, how to fix it).
Cases covered elsewhere, with the same standard:
unknown module name with suggestions, channel mismatch, level-count mismatch,
loss that cannot take (student, teacher), unknown loss argument, unknown entry
key, missing/mismatched teacher checkpoint and teacher config typo
(tests/test_distillers/test_single_teacher.py); unknown loss type
(tests/test_registry.py); non-finite losses
(test_single_teacher.py::test_nonfinite_loss_raises_with_entry_name).
"""
import pytest
import torch

from kd.apis import build_runner, load_config
from kd.distillers import SingleTeacherDistiller
from tests.test_distillers.toy_models import toy_cfg, write_toy_teacher

CWD = dict(type='ChannelWiseDivergence')


@pytest.fixture
def teacher_files(tmp_path):
    return write_toy_teacher(tmp_path)


def make(teacher_files, distill, teacher=None, **kwargs):
    cfg, ckpt, _ = teacher_files
    return SingleTeacherDistiller(student=toy_cfg(width=4, out=8),
                                  teacher=teacher or dict(config=cfg, checkpoint=ckpt),
                                  distill=distill, probe_shape=(3, 16, 16), **kwargs)


def test_index_out_of_range(teacher_files):
    with pytest.raises(IndexError) as err:
        make(teacher_files, dict(x=dict(student=dict(source='neck', index=5),
                                        teacher=dict(source='neck', index=5), loss=CWD)))
    msg = str(err.value)
    assert 'distill entry "x"' in msg and 'index=5 is out of range' in msg
    assert 'valid indices: -2..1' in msg


def test_call_out_of_range(teacher_files):
    with pytest.raises(IndexError) as err:
        make(teacher_files, dict(x=dict(student=dict(source='head', call=3),
                                        teacher=dict(source='head', call=3),
                                        loss=dict(type='KDLoss'))))
    msg = str(err.value)
    assert 'call=3 is out of range' in msg and 'ran 1 time(s)' in msg


def test_spatial_size_mismatch_suggests_resize(teacher_files):
    with pytest.raises(ValueError) as err:
        make(teacher_files, dict(x=dict(student='backbone.layer1', teacher='backbone.layer2',
                                        connector=dict(type='ConvConnector'),
                                        loss=dict(type='FeatureMSELoss'))))
    msg = str(err.value)
    assert '(2, 16, 8, 8)' in msg and '(2, 16, 4, 4)' in msg and 'ResizeConnector' in msg


def test_loss_inputs_that_do_not_fit(teacher_files):
    # CWD needs (N, C, H, W) maps; the head gives (N, C) logits
    with pytest.raises(ValueError) as err:
        make(teacher_files, dict(x=dict(student='head', teacher='head', loss=CWD)))
    msg = str(err.value)
    assert 'distill entry "x"' in msg and 'ChannelWiseDivergence cannot take' in msg
    assert 'student (2, 3)' in msg and 'expects (N, C, H, W)' in msg


@pytest.mark.parametrize('content,words', [
    (b'', 'truncated'),
    (b'not a checkpoint at all' * 4, 'truncated'),
])
def test_unreadable_or_truncated_checkpoint(teacher_files, tmp_path, content, words):
    cfg, ckpt, _ = teacher_files
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(content or open(ckpt, 'rb').read()[:300])
    with pytest.raises(RuntimeError) as err:
        make(teacher_files, dict(x=dict(student='neck', teacher='neck', loss=CWD)),
             teacher=dict(config=cfg, checkpoint=str(bad)))
    msg = str(err.value)
    assert str(bad) in msg and words in msg and 're-create or re-download' in msg


def test_checkpoint_file_missing(teacher_files, tmp_path):
    cfg, _, _ = teacher_files
    with pytest.raises(FileNotFoundError) as err:
        make(teacher_files, dict(x=dict(student='neck', teacher='neck', loss=CWD)),
             teacher=dict(config=cfg, checkpoint=str(tmp_path / 'none.pth')))
    assert 'does not exist' in str(err.value) and 'tools/train.py' in str(err.value)


def test_mmdet_config_typo_suggests_names(teacher_files):
    pytest.importorskip('mmdet')
    with pytest.raises(FileNotFoundError) as err:
        make(teacher_files, dict(x=dict(student='neck', teacher='neck', loss=CWD)),
             teacher=dict(config='mmdet::retinanet/retinanet_r50_fpn_1x_cooc.py',
                          allow_random_init=True))
    assert 'retinanet_r50_fpn_1x_cooc.py' in str(err.value)
    assert 'retinanet_r50_fpn_1x_coco.py' in str(err.value)   # the closest name


def test_nothing_to_train(teacher_files):
    with pytest.raises(ValueError) as err:
        make(teacher_files, {}, calculate_student_loss=False)
    assert 'nothing to train' in str(err.value) and 'calculate_student_loss=True' in str(err.value)


@pytest.mark.parametrize('schedule,words', [
    (dict(type='cosin'), "unknown schedule type 'cosin'"),
    (dict(type='linear', start=-1.0, end=0.0), 'start=-1.0 is negative'),
    (dict(type='step', start=1.0, milestones=[5, 2]), 'milestones'),
])
def test_bad_schedule(teacher_files, schedule, words):
    with pytest.raises(ValueError) as err:
        make(teacher_files, dict(x=dict(student='neck', teacher='neck', loss=CWD,
                                        schedule=schedule)))
    assert 'distill entry "x" schedule' in str(err.value) and words in str(err.value)


def test_duplicate_entry_names_in_a_config(tmp_path):
    path = tmp_path / 'dup.py'
    path.write_text("model = dict(type='kd.SingleTeacherDistiller', distill={\n"
                    "    'fpn': dict(student='neck', teacher='neck'),\n"
                    "    'fpn': dict(student='head', teacher='head')})\n")
    with pytest.raises(ValueError) as err:
        load_config(str(path))
    msg = str(err.value)
    assert f'{path}:3' in msg and "'fpn' appears twice" in msg and 'first on line 2' in msg


def test_missing_dataset_file_names_key_and_fix(tmp_path):
    pytest.importorskip('mmdet')
    cfg = load_config('configs/baselines/retinanet_student_digits.py',
                      [f'work_dir={tmp_path}',
                       'train_dataloader.dataset.type=CocoDataset',
                       f'train_dataloader.dataset.data_root={tmp_path}/coco/'])
    with pytest.raises(FileNotFoundError) as err:
        build_runner(cfg)
    msg = str(err.value)
    assert 'train_dataloader.dataset.ann_file' in msg
    assert f'{tmp_path}/coco/annotations/train.json' in msg
    assert 'prepare_digits.py' in msg and '--cfg-options' in msg


class Payload:
    """An arbitrary class a checkpoint should not be allowed to instantiate."""


def test_unsafe_checkpoint_refused_with_type_name(tmp_path):
    from kd.utils import load_checkpoint_file

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Payload()}, path)
    with pytest.raises(RuntimeError) as err:
        load_checkpoint_file(str(path))
    msg = str(err.value)
    assert 'test_bad_inputs.Payload' in msg and 'safe loader refuses' in msg
    assert 'allow_unsafe_unpickle=True' in msg
    # the explicit opt-in reads it
    assert isinstance(load_checkpoint_file(str(path), allow_unsafe=True)['meta'], Payload)


def test_url_teacher_checkpoints_go_through_the_safe_loader(monkeypatch, teacher_files):
    import torch.hub

    from kd.distillers.builder import load_teacher_weights
    from kd.registry import MODELS
    _, ckpt, _ = teacher_files
    seen = {}

    def fake(url, map_location=None, weights_only=False, **kwargs):
        seen.update(url=url, weights_only=weights_only)
        return torch.load(ckpt, map_location=map_location, weights_only=weights_only)

    monkeypatch.setattr(torch.hub, 'load_state_dict_from_url', fake)
    model = MODELS.build(dict(type='kd.ToyClassifier', width=8, out=8))
    load_teacher_weights(model, 'https://example.org/teacher.pth')
    assert seen == dict(url='https://example.org/teacher.pth', weights_only=True)
    load_teacher_weights(model, 'https://example.org/teacher.pth', allow_unsafe=True)
    assert seen['weights_only'] is False
