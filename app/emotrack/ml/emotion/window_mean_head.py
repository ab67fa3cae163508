"""A linear emotion head on the mean encoder states of each analysis window.

The head reads ``mean_t(h_t)`` over a window's frames ``t``, with ``h_t`` the Whisper
encoder's hidden states ``layers`` side by side, optionally minus a reference (the
actor's average of the same quantity), and outputs logits in the checkpoint's label
order. A Whisper emotion model folder may carry two of them beside its checkpoint:

- ``plain/``: read windows as they are. When present, it replaces the checkpoint's own
  head (``projector`` and ``classifier`` over one weighted sum of layers), which cannot
  weigh each layer's states separately. The bundled model's ``plain/`` is its checkpoint
  recipe retrained with calm read speech as neutral, folded into one layer
  (:func:`plain_head_from_checkpoint`); see its model card.
- ``actor/``: read windows relative to an actor's reference (``emotrack.ml.emotion.actor``).

Both read the encoder pass that the clip needs anyway, so they cost nothing extra per clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from emotrack.ml.checkpoint import load_checkpoint, save_checkpoint
from emotrack.ml.emotion.whisper_pooling import weighed_states
from emotrack.resources import PLAIN_FOLDER  # noqa: F401 - re-exported: the plain head's subfolder



@dataclass(frozen=True)
class WindowMeanHeadConfig:
    d_model: int  # input width: the encoder's width times len(layers)
    num_labels: int
    layers: tuple[int, ...]  # which hidden states (0 = input embedding) the windows pool, concatenated
    temperature: float = 1.0
    reference_id: str = ""  # an actor head's: references made for one head fit every head with the same id
    # An actor head's: a reference of n lines is blended with the training speakers' mean
    # reference (the ``prior_reference`` buffer) as if that were ``prior_lines`` more lines.
    prior_lines: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(int(layer) for layer in self.layers))

    def to_dict(self) -> dict:
        return {**vars(self), "layers": list(self.layers)}

    @classmethod
    def from_dict(cls, values: dict) -> WindowMeanHeadConfig:
        values = dict(values)
        if "layer" in values:  # heads saved before several layers were read
            values["layers"] = [values.pop("layer")]
        return cls(**values)


class WindowMeanHead(nn.Module):
    """Logits (checkpoint label order) of window means, centred on ``reference`` if given."""

    def __init__(self, config: WindowMeanHeadConfig):
        super().__init__()
        if config.prior_lines < 0:
            raise ValueError(f"prior_lines must be >= 0, got {config.prior_lines}")
        self.config = config
        self.classifier = nn.Linear(config.d_model, config.num_labels)
        if config.prior_lines > 0:
            self.register_buffer("prior_reference", torch.zeros(config.d_model))

    def blended_reference(self, mean: torch.Tensor, lines: int) -> torch.Tensor:
        """The reference this head reads windows against, for an actor's ``mean`` over
        ``lines`` lines: pulled toward the training speakers' mean while the lines are few.

        Why: a mean over a few lines holds their moods as much as the actor's voice (one
        line of anger makes anger the actor's normal). Out of fold, blending with
        ``prior_lines`` = 3 took one line from 0.60 to 0.75 accuracy, three lines from 0.73
        to 0.78, and left twelve lines as they were (model card)."""
        if self.config.prior_lines <= 0:
            return mean
        lines = max(1, int(lines))
        prior = self.prior_reference.to(mean)
        return (lines * mean + self.config.prior_lines * prior) / (lines + self.config.prior_lines)

    def forward(self, window_means: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
        return self.classifier(window_means if reference is None else window_means - reference)

    def save_pretrained(self, directory: str | Path, half: bool = False) -> None:
        save_checkpoint(self, self.config.to_dict(), directory, half)

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device = "cpu",
                        what: str = "emotion head") -> WindowMeanHead:
        # The fp16 weights load into the fp32 layer: no cast needed.
        return load_checkpoint(lambda values: cls(WindowMeanHeadConfig.from_dict(values)), directory, what, device)


def load_window_mean_head(folder: Path, device: torch.device, what: str) -> WindowMeanHead | None:
    """The head saved in ``folder`` (a subfolder of a model's folder), or None when there is none."""
    return WindowMeanHead.from_pretrained(folder, device, what) if Path(folder).is_dir() else None


def plain_head_from_checkpoint(model, temperature: float) -> WindowMeanHead:
    """A ``WhisperForAudioClassification``'s own head as a plain head with the same outputs.

    The checkpoint's head reads one hidden state (a one-hot weighted layer sum, or the last
    state): ``classifier(mean_t(projector(h_t)))`` is linear in ``mean_t(h_t)``, so the
    projector and the classifier fold into one layer. Why: a head retrained on the frozen
    encoder then ships as a few kilobytes in ``plain/`` instead of a new copy of the
    encoder's weights."""
    layers = weighed_states(model)
    if len(layers) != 1:
        raise ValueError("the checkpoint's head mixes several layers; only a one-layer head folds into a plain head")
    projector, classifier = model.projector, model.classifier
    with torch.no_grad():
        weight = classifier.weight.float() @ projector.weight.float()
        bias = classifier.weight.float() @ projector.bias.float() + classifier.bias.float()
    head = WindowMeanHead(WindowMeanHeadConfig(d_model=weight.shape[1], num_labels=weight.shape[0], layers=layers,
                                               temperature=round(float(temperature), 4)))
    with torch.no_grad():
        head.classifier.weight.copy_(weight)
        head.classifier.bias.copy_(bias)
    return head
