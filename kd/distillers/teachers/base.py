"""The teacher side of a distiller: what the distiller asks of every kind of teacher."""
from __future__ import annotations

import contextlib
from typing import Any, ContextManager, Mapping, Sequence

import torch
import torch.nn as nn

# teacher=dict(autocast=...): the teacher forward runs under torch.autocast in this dtype
TEACHER_AUTOCAST = {'bf16': torch.bfloat16, 'fp16': torch.float16}


def autocast(inputs: Any, setting: str | None) -> ContextManager:
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


class Teacher:
    """Where an entry's teacher records come from.

    A distiller holds one ``Teacher`` (``distiller.teacher_side``) and asks it
    only through this interface; the kinds are :class:`FrozenTeacher` (built
    from a config, loaded strictly, hidden from ``state_dict``/optimizer/DDP),
    :class:`OnlineTeacher` (trains with the student), :class:`EMATeacher` (a
    moving average of the student, saved in checkpoints),
    :class:`OwnLayersTeacher` (the student's own deep layers, BYOT) and
    :class:`TeacherEnsemble` (several frozen teachers).

    The life cycle: :meth:`attach` (the models become attributes of the
    distiller), :meth:`prepare` (recorders for the entries' teacher specs),
    :meth:`entries_built` (after the probe), then every step :meth:`run`,
    :meth:`record` per entry and :meth:`reset`.
    """

    #: trains with the student: :meth:`run` returns its task losses (``teacher.*``)
    trainable: bool = False
    #: the records are taken during the student's own forward (which then runs whole)
    records_in_student_forward: bool = False
    #: the per-sample output cache (:class:`~kd.distillers.teacher_cache.TeacherOutputCache`)
    cache = None

    def attach(self, host: nn.Module) -> None:
        """Make the teacher model(s) attributes of the distiller ``host``."""

    def models(self) -> dict[str, nn.Module]:
        """The teacher networks by name (``{}`` when there is none)."""
        return {}

    def hidden_models(self) -> list[nn.Module]:
        """Networks kept out of the distiller's module tree (moved by ``_apply``)."""
        return []

    def prepare(self, specs: Mapping[str, Any]) -> None:
        """Build recorders for ``{entry name: teacher record spec}``."""
        raise NotImplementedError

    def entries_built(self, entries: Mapping[str, Any]) -> None:
        """Called once the entries know their levels (after the build-time probe)."""

    def run(self, inputs: Any, data_samples: Any, entries: Sequence[str],
            probe: bool = False) -> dict:
        """Produce the records of ``entries`` for a batch; returns teacher losses (or ``{}``).

        ``probe``: the build-time probe or a visualisation (float32, no cache,
        never the teacher's loss).
        """
        raise NotImplementedError

    def record(self, name: str) -> Any:
        """The teacher record of entry ``name`` for the batch of the last :meth:`run`."""
        raise NotImplementedError

    def reset(self) -> None:
        """Drop the records of the last batch."""

    def recording_student(self) -> ContextManager:
        """A context that is open while the student runs (records taken from it)."""
        return contextlib.nullcontext()

    def train(self, mode: bool) -> None:
        """Follow the distiller's ``train(mode)``; frozen teachers stay in eval mode."""
        for model in self.models().values():
            model.eval()

    def inputs(self, inputs: Any, name: str | None = None) -> Any:
        """The student's batch as teacher ``name`` (default: the first) expects it."""
        return inputs

    def predict(self, inputs: Any, data_samples: list) -> list:
        """The (first) teacher's predictions on the student's batch (pseudo-labels)."""
        models = self.models()
        if not models:
            raise TypeError(f'{type(self).__name__} has no teacher model to predict with '
                            '(pseudo_labels needs one)')
        name, model = next(iter(models.items()))
        was_training = model.training
        model.eval()
        try:
            return model.predict(self.inputs(inputs, name), data_samples, rescale=False)
        finally:
            model.train(was_training)
