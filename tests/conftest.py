"""Fixtures shared by all tests: generated audio and a tiny (untrained) emotion model.

Nothing here reads ../shared/data: a fresh checkout must be able to run every test.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from signals import speech_like  # noqa: F401  (re-exported for tests that import it from here)

SAMPLE_RATE = 16_000
EMOTION_ID2LABEL = {0: "angry", 1: "disgust", 2: "fear", 3: "happy", 4: "neutral", 5: "sad"}


def tone(seconds: float, freq: float = 220.0, rate: int = SAMPLE_RATE, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session")
def speech_wav(audio_dir) -> Path:
    """Real synthetic speech from espeak-ng (installed by scripts/setup.sh), with a pause."""
    path = audio_dir / "speech.wav"
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (scripts/setup.sh installs it)")
    parts = []
    for i, text in enumerate(["I can't believe you did that to me!", "Well, never mind, it is fine."]):
        raw = audio_dir / f"espeak{i}.wav"
        subprocess.run([espeak, "-v", "en-us", "-w", str(raw), text], check=True)
        audio, rate = sf.read(raw, dtype="float32")
        import soxr

        parts += [soxr.resample(audio, rate, SAMPLE_RATE), np.zeros(int(0.6 * SAMPLE_RATE), np.float32)]
    sf.write(path, np.concatenate(parts), SAMPLE_RATE)
    return path


@pytest.fixture(scope="session")
def tone_wav(audio_dir) -> Path:
    path = audio_dir / "tone.wav"
    sf.write(path, np.concatenate([speech_like(2.0), np.zeros(SAMPLE_RATE, np.float32), speech_like(2.0, seed=1)]),
             SAMPLE_RATE)
    return path


@pytest.fixture(scope="session")
def tiny_emotion_model_dir(tmp_path_factory) -> Path:
    """A random-init wav2vec2 classifier saved like a Hugging Face checkpoint: exercises
    the real loading and inference code in a fraction of a second."""
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification
    import torch

    torch.manual_seed(0)
    config = Wav2Vec2Config(
        conv_dim=(16, 16, 16), conv_kernel=(10, 3, 3), conv_stride=(5, 4, 4), hidden_size=32,
        num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4, classifier_proj_size=16, num_labels=6,
        id2label=EMOTION_ID2LABEL, label2id={v: k for k, v in EMOTION_ID2LABEL.items()},
    )
    directory = tmp_path_factory.mktemp("tiny_emotion_model")
    Wav2Vec2ForSequenceClassification(config).save_pretrained(directory)
    Wav2Vec2FeatureExtractor(sampling_rate=SAMPLE_RATE, do_normalize=True).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_whisper_model_dir(tmp_path_factory) -> Path:
    """A random-init WhisperForAudioClassification (1 s chunks) saved as a checkpoint:
    the bundled accurate model's architecture at a size that runs in milliseconds."""
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForAudioClassification
    import torch

    torch.manual_seed(0)
    config = WhisperConfig(
        d_model=16, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=32, decoder_layers=1,
        decoder_attention_heads=2, decoder_ffn_dim=32, num_mel_bins=80, max_source_positions=50,
        use_weighted_layer_sum=True, classifier_proj_size=8, num_labels=6,
        id2label=EMOTION_ID2LABEL, label2id={v: k for k, v in EMOTION_ID2LABEL.items()},
    )
    directory = tmp_path_factory.mktemp("tiny_whisper_model")
    WhisperForAudioClassification(config).save_pretrained(directory)
    WhisperFeatureExtractor(feature_size=80, chunk_length=1).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_actor_model_dir(tiny_whisper_model_dir, tmp_path_factory) -> Path:
    """The tiny Whisper checkpoint with a random-init actor head beside it, as the bundled
    accurate model carries its trained one."""
    import shutil

    import torch

    from emotrack.core.actor_reference import ACTOR_FOLDER
    from emotrack.ml.emotion.window_mean_head import WindowMeanHead, WindowMeanHeadConfig
    from emotrack.ml.emotion.actor_training import model_layer, reference_id
    from emotrack.ml.emotion.modeling import EmotionModel

    directory = tmp_path_factory.mktemp("tiny_actor_model") / "model"
    shutil.copytree(tiny_whisper_model_dir, directory)
    model = EmotionModel.from_pretrained(directory, device="cpu")
    layers = (0, model_layer(model))  # two layers, as the bundled head reads three, concatenated
    torch.manual_seed(1)
    head = WindowMeanHead(WindowMeanHeadConfig(d_model=16 * len(layers), num_labels=6, layers=layers,
                                               temperature=1.0, reference_id=reference_id(model, layers)))
    head.save_pretrained(directory / ACTOR_FOLDER)
    return directory


@pytest.fixture(scope="session")
def tiny_voice_model_dir(tiny_actor_model_dir, tmp_path_factory) -> Path:
    """The tiny actor model with a random voice space beside its actor head, cut at the
    largest cosine distance: every batch is one voice, so tests know the grouping."""
    import shutil

    import numpy as np

    from emotrack.core.actor_reference import ACTOR_FOLDER
    from emotrack.core.voice_groups import VoiceSpace

    directory = tmp_path_factory.mktemp("tiny_voice_model") / "model"
    shutil.copytree(tiny_actor_model_dir, directory)
    rng = np.random.default_rng(0)
    VoiceSpace(layers=(1,), mean=np.zeros(16), scale=np.ones(16), projection=rng.standard_normal((16, 3)),
               centre=np.zeros(3), threshold=2.0).save(directory / ACTOR_FOLDER)
    return directory


@pytest.fixture()
def tiny_heads_folder(tiny_voice_model_dir, tmp_path):
    """``(model, heads)``: a copy of the tiny voice model and its ``fast/`` heads folder, as
    the bundled fast model is the accurate one's: a plain head on layer 1 of its two, and an
    actor head on layers 0-1 without a voice space of its own."""
    import shutil

    import torch

    from emotrack.core.actor_reference import ACTOR_FOLDER
    from emotrack.ml.emotion.actor_training import reference_id
    from emotrack.ml.emotion.modeling import EmotionModel
    from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER, WindowMeanHead, WindowMeanHeadConfig

    model_dir = tmp_path / "model"
    shutil.copytree(tiny_voice_model_dir, model_dir)
    heads = model_dir / "fast"
    torch.manual_seed(2)
    WindowMeanHead(WindowMeanHeadConfig(d_model=16, num_labels=6, layers=(1,), temperature=0.8)).save_pretrained(
        heads / PLAIN_FOLDER)
    encoder = EmotionModel.from_pretrained(model_dir, device="cpu")
    WindowMeanHead(WindowMeanHeadConfig(d_model=32, num_labels=6, layers=(0, 1), temperature=1.0,
                                        reference_id=reference_id(encoder, (0, 1)))).save_pretrained(
        heads / ACTOR_FOLDER)
    return model_dir, heads


@pytest.fixture(scope="session")
def tiny_face_loader(tiny_whisper_model_dir):
    """A ``FaceAnimator`` loader for the app: a random-init face network on the tiny
    Whisper model, built once, so every window test runs the face preview in milliseconds."""
    import functools

    @functools.cache
    def load():
        import torch

        from emotrack.ml.emotion.modeling import EmotionModel
        from emotrack.ml.face.animate import FaceAnimator
        from emotrack.ml.face.modeling import FaceNet, FaceNetConfig

        torch.manual_seed(0)
        net = FaceNet(FaceNetConfig(n_layers_in=3, width_in=16, d_model=16))
        return FaceAnimator(net, EmotionModel.from_pretrained(tiny_whisper_model_dir, device="cpu"))

    return load
