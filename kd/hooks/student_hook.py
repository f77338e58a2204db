"""Run an MMEngine/MMDetection hook on the distiller's student.

Training hooks of the YOLO family reach into ``runner.model``: MMDetection's
``YOLOXModeSwitchHook`` sets ``runner.model.bbox_head.use_l1``,
``SyncNormHook`` all-reduces the BatchNorm states of ``runner.model``, and
MMEngine's ``EMAHook`` keeps a moving average of ``runner.model`` and swaps it
in for validation and into saved checkpoints. Under kd ``runner.model`` is a
distiller: the head is ``distiller.student.bbox_head``, and an average of the
distiller would also cover the connectors and loss layers (and a deep copy of
it would copy the hidden teacher).

``kd.StudentHook`` wraps any such hook and hands it a view of the runner whose
``model`` is the student (every other attribute is the runner's own), so the
hook acts on the student alone, unchanged::

    custom_hooks = [
        dict(type='kd.StudentHook', hook=dict(type='YOLOXModeSwitchHook', num_last_epochs=15),
             priority=48),
        dict(type='kd.StudentHook', hook=dict(type='SyncNormHook'), priority=48),
        dict(type='kd.StudentHook', hook=dict(type='EMAHook', ema_type='ExpMomentumEMA',
                                              momentum=0.0001, update_buffers=True),
             priority=49),
    ]

Checkpoints: the wrapped hook sees a checkpoint whose ``state_dict`` is the
student's (``student.`` prefix removed); what it changes there goes back under
the prefix, and any key it adds (EMAHook's ``ema_state_dict``) is kept. So
with EMA the distillation checkpoints hold the student's averaged weights in
``state_dict`` (the raw ones in ``ema_state_dict``, MMEngine's convention), and
``tools/model_converters/export_student.py`` exports the averaged student.
:meth:`StudentHook.exported_student_state` gives ``kd.StudentCheckpointHook``
the averaged student for ``student_last.pth`` / ``student_best.pth``.

A model that is not a distiller (no ``student``) is handed to the hook as is.
``priority`` may be given outside (as for any hook) or inside ``hook``; the
inner hook's class priority is the default.
"""
from __future__ import annotations

from typing import Any

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from kd.registry import HOOKS
from kd.utils.export import STUDENT_PREFIX

#: hook stages forwarded as they are (the two checkpoint stages translate keys)
_PLAIN_STAGES = tuple(s for s in Hook.stages
                      if s not in ('before_save_checkpoint', 'after_load_checkpoint'))


def unwrap(model):
    """The model inside a DDP/FSDP wrapper, or the model."""
    return model.module if is_model_wrapper(model) else model


def student_of(model):
    """The distiller's student, or ``model`` itself when it is no distiller."""
    model = unwrap(model)
    return getattr(model, 'student', model)


class StudentRunnerView:
    """The runner as a wrapped hook sees it: ``model`` is the student.

    Reading any other attribute reads the runner's; setting one sets the runner's.
    """

    def __init__(self, runner) -> None:
        object.__setattr__(self, '_runner', runner)
        object.__setattr__(self, 'model', student_of(runner.model))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == 'model':
            raise AttributeError('a hook wrapped by kd.StudentHook cannot replace the model')
        setattr(self._runner, name, value)


def _student_checkpoint(checkpoint: dict) -> tuple[dict, bool]:
    """A shallow copy of ``checkpoint`` whose ``state_dict`` is the student's.

    Returns the copy and whether the keys had the ``student.`` prefix.
    """
    state = checkpoint.get('state_dict')
    if not isinstance(state, dict) or \
            not any(k.startswith(STUDENT_PREFIX) for k in state):
        return checkpoint, False
    view = dict(checkpoint)
    view['state_dict'] = {k[len(STUDENT_PREFIX):]: v for k, v in state.items()
                          if k.startswith(STUDENT_PREFIX)}
    return view, True


def _merge_back(checkpoint: dict, view: dict) -> None:
    """Write the student part of ``view`` back into ``checkpoint`` (prefixed)."""
    state = checkpoint['state_dict']
    for key, value in view['state_dict'].items():
        state[STUDENT_PREFIX + key] = value
    for key, value in view.items():
        if key != 'state_dict':
            checkpoint[key] = value


@HOOKS.register_module()
class StudentHook(Hook):
    """Run ``hook`` with ``runner.model`` replaced by the distiller's student.

    Args:
        hook: the hook's config (built in the current default scope, so
            ``'YOLOXModeSwitchHook'`` is MMDetection's in an mmdet-scope recipe)
            or a built hook.
    """

    def __init__(self, hook: dict | Hook) -> None:
        if isinstance(hook, dict):
            hook = dict(hook)
            priority = hook.pop('priority', None)
            hook = HOOKS.build(hook)
            if priority is not None:
                hook.priority = priority
        if not isinstance(hook, Hook):
            raise TypeError(f'kd.StudentHook wraps a hook or a hook config, got '
                            f'{type(hook).__name__}')
        self.hook = hook
        self.priority = hook.priority

    def get_triggered_stages(self) -> list:
        return self.hook.get_triggered_stages()

    def exported_student_state(self) -> dict | None:
        """The averaged student's weights when the wrapped hook keeps an EMA model.

        ``kd.StudentCheckpointHook`` writes these instead of the raw weights.
        """
        ema = getattr(self.hook, 'ema_model', None)
        module = getattr(ema, 'module', None)
        return None if module is None else module.state_dict()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        view, prefixed = _student_checkpoint(checkpoint)
        self.hook.before_save_checkpoint(StudentRunnerView(runner), view)
        if prefixed:
            _merge_back(checkpoint, view)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        view, prefixed = _student_checkpoint(checkpoint)
        self.hook.after_load_checkpoint(StudentRunnerView(runner), view)
        if prefixed:
            _merge_back(checkpoint, view)

    def __repr__(self) -> str:
        return f'StudentHook({type(self.hook).__name__})'


def hooks_needing_the_student(runner) -> list[str]:
    """Hooks of ``runner`` that act on ``runner.model`` and would miss a distiller's student.

    MMEngine's ``EMAHook`` (it would average the distiller: connectors and loss layers
    too, and copy the hidden teacher), MMDetection's ``YOLOXModeSwitchHook`` (it sets
    ``runner.model.bbox_head``) and ``SyncNormHook``, when not wrapped in
    ``kd.StudentHook`` and the model is a distiller.
    """
    if unwrap(runner.model) is student_of(runner.model):
        return []
    from mmengine.hooks import EMAHook
    kinds: tuple = (EMAHook,)
    try:
        from mmdet.engine.hooks import SyncNormHook, YOLOXModeSwitchHook
        kinds += (SyncNormHook, YOLOXModeSwitchHook)
    except ImportError:  # pragma: no cover - mmdet is a dependency of the detection recipes
        pass
    return [type(h).__name__ for h in runner.hooks if isinstance(h, kinds)]


def _forward(stage: str):
    def call(self, runner, *args, **kwargs):
        return getattr(self.hook, stage)(StudentRunnerView(runner), *args, **kwargs)
    call.__name__ = call.__qualname__ = stage
    call.__doc__ = f"Call the wrapped hook's ``{stage}`` with the student as ``runner.model``."
    return call


for _stage in _PLAIN_STAGES:
    setattr(StudentHook, _stage, _forward(_stage))
