"""Tiny Whisper models for the tests: a CTranslate2 ``WhisperSpec`` model.bin written in
the real layout, and a random-init ``WhisperForAudioClassification``. Sizes are a few
thousand parameters so everything runs in milliseconds on one CPU thread.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForAudioClassification

from emotrack.core.emotions import EMOTIONS
from emotrack.ml.whisper.ctranslate2_format import CT2Model

D_MODEL, N_LAYERS, N_HEADS, FFN, POSITIONS, N_MELS, VOCAB = 16, 2, 2, 32, 100, 80, 7
MAX_SOURCE_POSITIONS = 50  # 1 s chunks: 50 frames x 320 samples = 16000 samples
EMOTION_ID2LABEL = dict(enumerate(EMOTIONS))


def ct2_whisper(seed: int = 0) -> CT2Model:
    """An encoder-only (plus one decoder variable) CTranslate2 WhisperSpec model, fp16."""
    rng = np.random.default_rng(seed)

    def weights(*shape: int) -> np.ndarray:
        return (0.2 * rng.standard_normal(shape)).astype(np.float16)

    d = D_MODEL
    variables: dict[str, np.ndarray] = {
        "encoder/conv1/weight": weights(d, N_MELS, 3), "encoder/conv1/bias": weights(d),
        "encoder/conv2/weight": weights(d, d, 3), "encoder/conv2/bias": weights(d),
        "encoder/position_encodings/encodings": weights(POSITIONS, d),
        "encoder/num_heads": np.array(N_HEADS, dtype=np.int16),
    }
    for i in range(N_LAYERS):
        p = f"encoder/layer_{i}/"
        fused_bias = weights(3 * d)
        fused_bias[d:2 * d] = 0  # Whisper's k projection has no bias
        variables.update({
            p + "self_attention/layer_norm/gamma": (1 + weights(d)).astype(np.float16),
            p + "self_attention/layer_norm/beta": weights(d),
            p + "self_attention/linear_0/weight": weights(3 * d, d),
            p + "self_attention/linear_0/bias": fused_bias,
            p + "self_attention/linear_1/weight": weights(d, d),
            p + "self_attention/linear_1/bias": weights(d),
            p + "ffn/layer_norm/gamma": (1 + weights(d)).astype(np.float16),
            p + "ffn/layer_norm/beta": weights(d),
            p + "ffn/linear_0/weight": weights(FFN, d),
            p + "ffn/linear_0/bias": weights(FFN),
            p + "ffn/linear_1/weight": weights(d, FFN),
            p + "ffn/linear_1/bias": weights(d),
        })
    variables["encoder/layer_norm/gamma"] = (1 + weights(d)).astype(np.float16)
    variables["encoder/layer_norm/beta"] = weights(d)
    variables["decoder/embeddings/weight"] = weights(VOCAB, d)
    # CTranslate2 ties the decoder's projection to its embeddings through an alias.
    return CT2Model("WhisperSpec", 3, variables, {"decoder/projection/weight": "decoder/embeddings/weight"})


def whisper_config(**overrides) -> WhisperConfig:
    settings = dict(
        d_model=D_MODEL, encoder_layers=N_LAYERS, encoder_attention_heads=N_HEADS, encoder_ffn_dim=FFN,
        decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=32, num_mel_bins=N_MELS,
        max_source_positions=MAX_SOURCE_POSITIONS, use_weighted_layer_sum=True, classifier_proj_size=8,
        num_labels=len(EMOTIONS), id2label=EMOTION_ID2LABEL,
        label2id={label: i for i, label in EMOTION_ID2LABEL.items()},
    )
    settings.update(overrides)
    return WhisperConfig(**settings)


def whisper_classifier(seed: int = 0, **overrides) -> WhisperForAudioClassification:
    """A random-init Whisper classifier in eval mode (fp32)."""
    torch.manual_seed(seed)
    model = WhisperForAudioClassification(whisper_config(**overrides)).eval()
    with torch.no_grad():  # non-trivial layer weights so the weighted sum matters
        model.layer_weights.copy_(torch.linspace(-1.0, 1.0, model.layer_weights.numel()))
    return model


def mel_filters() -> np.ndarray:
    return WhisperFeatureExtractor(feature_size=N_MELS).mel_filters


def noise(seconds: float, seed: int = 0, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    # Amplitude-modulated noise: louder and quieter stretches, so chunk peaks differ.
    envelope = 0.05 + 0.2 * np.abs(np.sin(np.arange(n) / rate * 2 * np.pi * 1.3))
    return (envelope * rng.standard_normal(n)).astype(np.float32)
