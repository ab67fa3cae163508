"""Whisper's encoder from a CTranslate2 ``WhisperSpec`` model into a transformers checkpoint.

The encoder variables map one-to-one onto ``transformers``' ``WhisperEncoder``; the only
reshaping is the fused self-attention input projection (``linear_0``: q, k and v
stacked), which splits into ``q_proj``, ``k_proj`` and ``v_proj`` (k has no bias in
Whisper; CTranslate2 stores a zero one). The decoder is not converted: Emotrack only
listens, it never transcribes.

The folder written by :func:`save_encoder_checkpoint` loads with
``WhisperForAudioClassification.from_pretrained(folder, num_labels=...)`` (the
classification head starts untrained) or ``WhisperModel.from_pretrained`` (decoder untrained).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import WhisperConfig, WhisperFeatureExtractor

from emotrack.errors import ModelError
from emotrack.ml.whisper.ctranslate2_format import CT2Model

SAMPLE_RATE = 16000
HOP_LENGTH = 160  # mel frames every 10 ms; the encoder's second conv halves that to 50 Hz

_LAYER_PARTS = {
    "self_attention/layer_norm/gamma": "self_attn_layer_norm.weight",
    "self_attention/layer_norm/beta": "self_attn_layer_norm.bias",
    "self_attention/linear_1/weight": "self_attn.out_proj.weight",
    "self_attention/linear_1/bias": "self_attn.out_proj.bias",
    "ffn/layer_norm/gamma": "final_layer_norm.weight",
    "ffn/layer_norm/beta": "final_layer_norm.bias",
    "ffn/linear_0/weight": "fc1.weight",
    "ffn/linear_0/bias": "fc1.bias",
    "ffn/linear_1/weight": "fc2.weight",
    "ffn/linear_1/bias": "fc2.bias",
}
_ENCODER_PARTS = {
    "conv1/weight": "conv1.weight", "conv1/bias": "conv1.bias",
    "conv2/weight": "conv2.weight", "conv2/bias": "conv2.bias",
    "layer_norm/gamma": "layer_norm.weight", "layer_norm/beta": "layer_norm.bias",
}


def _variable(model: CT2Model, name: str) -> np.ndarray:
    name = model.aliases.get(name, name)
    if name not in model.variables:
        raise ModelError(f"CTranslate2 model has no variable {name!r}; is it a Whisper model?")
    return model.variables[name]


def encoder_config(model: CT2Model, max_source_positions: int | None = None) -> WhisperConfig:
    """The ``WhisperConfig`` of the encoder in ``model``; ``max_source_positions`` (frames
    at 50 Hz) may truncate the positional table below Whisper's 1500 (30 s)."""
    if model.spec != "WhisperSpec":
        raise ModelError(f"expected a CTranslate2 WhisperSpec model, got {model.spec!r}")
    conv1 = _variable(model, "encoder/conv1/weight")
    positions = _variable(model, "encoder/position_encodings/encodings")
    n_layers = sum(1 for name in model.variables
                   if name.startswith("encoder/layer_") and name.endswith("self_attention/linear_0/weight"))
    n_heads = int(_variable(model, "encoder/num_heads"))
    ffn = _variable(model, "encoder/layer_0/ffn/linear_0/weight")
    vocabulary = model.variables.get("decoder/embeddings/weight")
    limit = len(positions) if max_source_positions is None else int(max_source_positions)
    if not 1 <= limit <= len(positions):
        raise ModelError(f"max_source_positions must be between 1 and {len(positions)}, got {limit}")
    d_model = conv1.shape[0]
    return WhisperConfig(
        d_model=d_model, num_mel_bins=conv1.shape[1], encoder_layers=n_layers,
        encoder_attention_heads=n_heads, encoder_ffn_dim=ffn.shape[0],
        # The decoder is not converted; its sizes mirror the encoder's so that the
        # config still describes a coherent (if untrained) Whisper model.
        decoder_layers=n_layers, decoder_attention_heads=n_heads, decoder_ffn_dim=ffn.shape[0],
        vocab_size=vocabulary.shape[0] if vocabulary is not None else 51865,
        max_source_positions=limit,
    )


def encoder_state_dict(model: CT2Model, config: WhisperConfig) -> dict[str, torch.Tensor]:
    """Encoder weights under ``WhisperForAudioClassification``'s names (``encoder.*``), fp32."""
    def tensor(name: str) -> torch.Tensor:
        return torch.from_numpy(np.array(_variable(model, name), dtype=np.float32))

    state = {f"encoder.{hf}": tensor(f"encoder/{ct2}") for ct2, hf in _ENCODER_PARTS.items()}
    state["encoder.embed_positions.weight"] = tensor("encoder/position_encodings/encodings")[
        : config.max_source_positions]
    d_model = config.d_model
    for i in range(config.encoder_layers):
        prefix, hf = f"encoder/layer_{i}/", f"encoder.layers.{i}."
        for ct2, name in _LAYER_PARTS.items():
            state[hf + name] = tensor(prefix + ct2)
        fused_weight = tensor(prefix + "self_attention/linear_0/weight")
        fused_bias = tensor(prefix + "self_attention/linear_0/bias")
        if fused_weight.shape != (3 * d_model, d_model):
            raise ModelError(f"layer {i}: fused attention projection has shape {tuple(fused_weight.shape)}")
        q, k, v = fused_weight.split(d_model)
        q_bias, k_bias, v_bias = fused_bias.split(d_model)
        if k_bias.abs().max() > 0:
            raise ModelError(f"layer {i}: Whisper's key projection has no bias, but this one is non-zero")
        state.update({hf + "self_attn.q_proj.weight": q, hf + "self_attn.q_proj.bias": q_bias,
                      hf + "self_attn.k_proj.weight": k,
                      hf + "self_attn.v_proj.weight": v, hf + "self_attn.v_proj.bias": v_bias})
    return state


def save_encoder_checkpoint(model: CT2Model, directory: str | Path,
                            max_source_positions: int | None = None) -> Path:
    """Write config.json, model.safetensors (fp16, as shipped) and preprocessor_config.json."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = encoder_config(model, max_source_positions)
    state = encoder_state_dict(model, config)
    config.save_pretrained(directory)
    save_file({k: v.half().contiguous() for k, v in state.items()}, str(directory / "model.safetensors"),
              metadata={"format": "pt"})
    feature_extractor(config).save_pretrained(directory)
    return directory


def feature_extractor(config: WhisperConfig) -> WhisperFeatureExtractor:
    """The log-mel front end that goes with ``config`` (its chunk length in whole seconds,
    for the preprocessor_config.json of a checkpoint folder)."""
    chunk_seconds = config.max_source_positions * 2 * HOP_LENGTH / SAMPLE_RATE
    return WhisperFeatureExtractor(feature_size=config.num_mel_bins, sampling_rate=SAMPLE_RATE,
                                   hop_length=HOP_LENGTH, chunk_length=max(1, round(chunk_seconds)))
