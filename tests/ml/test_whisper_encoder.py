"""WhisperClipEncoder: the log-mel front end, chunked encoding and span encoding,
checked against transformers' own Whisper feature extractor and encoder on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import WhisperFeatureExtractor

from emotrack.ml.whisper.encoder import FRAME_SAMPLES, ClipEncoding, WhisperClipEncoder, chunk_plan, frame_count
from tiny_whisper import MAX_SOURCE_POSITIONS, N_LAYERS, mel_filters, noise, whisper_classifier

CHUNK = MAX_SOURCE_POSITIONS * FRAME_SAMPLES  # 16000 samples: exactly one second



@pytest.fixture(scope="module")
def model():
    return whisper_classifier()


@pytest.fixture
def clip_encoder(model) -> WhisperClipEncoder:
    return WhisperClipEncoder(model.encoder, mel_filters())


def test_log_mel_matches_the_whisper_feature_extractor(clip_encoder):
    assert CHUNK == 1 * 16000  # the extractor pads to chunk_length seconds
    extractor = WhisperFeatureExtractor(feature_size=80, chunk_length=1)
    audio = np.stack([noise(1.0, seed) for seed in range(2)])
    expected = extractor(list(audio), sampling_rate=16000, return_tensors="np").input_features
    got = clip_encoder.log_mel(torch.from_numpy(audio)).numpy()
    assert got.shape == expected.shape == (2, 80, 100)
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_forward_chunks_matches_transformers_hidden_states(model, clip_encoder):
    audio = torch.from_numpy(np.stack([noise(1.0, seed) for seed in (3, 4)]))
    with torch.no_grad():
        states = clip_encoder.forward_chunks(audio)
        reference = model.encoder(clip_encoder.log_mel(audio), output_hidden_states=True).hidden_states
    assert states.shape == (N_LAYERS + 1, 2, MAX_SOURCE_POSITIONS, 16)
    assert len(reference) == N_LAYERS + 1
    torch.testing.assert_close(states, torch.stack(reference), atol=1e-5, rtol=1e-4)


def test_forward_chunks_stops_early_with_n_layers(clip_encoder):
    audio = torch.from_numpy(noise(0.5))[None]
    with torch.no_grad():
        full = clip_encoder.forward_chunks(audio)
        partial = clip_encoder.forward_chunks(audio, n_layers=1)
    assert partial.shape[0] == 2
    torch.testing.assert_close(partial, full[:2])


def test_forward_chunks_rejects_a_chunk_longer_than_the_positional_table(clip_encoder):
    with torch.no_grad(), pytest.raises(ValueError, match="exceeds"):
        clip_encoder.forward_chunks(torch.zeros(1, CHUNK + FRAME_SAMPLES * 2))


@pytest.mark.parametrize("n_samples", [1, 319, 320, 10_000, 16_000, 16_001, 24_000, 40_000, 47_000, 48_321, 100_000])
@pytest.mark.parametrize("chunk_frames", [7, 50])
def test_chunk_plan_covers_every_frame_once_without_runts(n_samples, chunk_frames):
    total = frame_count(n_samples)
    plan = chunk_plan(n_samples, chunk_frames)
    kept = []
    for begin, length, keep_from in plan:
        assert 0 <= begin <= keep_from < begin + length <= total
        assert length <= chunk_frames
        if total >= chunk_frames:
            assert length >= chunk_frames // 2  # no runt when a longer chunk fits
        kept.extend(range(keep_from, begin + length))
    assert kept == list(range(total))


def test_chunk_plan_replaces_a_runt_by_a_full_chunk_ending_at_the_clip_end():
    # 53 frames in chunks of 50: the last 3 frames are encoded with 47 frames of context.
    assert chunk_plan(53 * FRAME_SAMPLES, 50) == [(0, 50, 0), (3, 50, 50)]
    assert chunk_plan(80 * FRAME_SAMPLES, 50) == [(0, 50, 0), (50, 30, 50)]
    assert chunk_plan(10 * FRAME_SAMPLES, 50) == [(0, 10, 0)]


def test_encode_a_whole_chunk_equals_forward_chunks(clip_encoder):
    audio = noise(1.0, seed=5)
    with torch.no_grad():
        encoding = clip_encoder.encode(audio)
        expected = clip_encoder.forward_chunks(torch.from_numpy(audio)[None])[:, 0]
    assert encoding.first_frame == 0 and encoding.n_samples == CHUNK
    torch.testing.assert_close(encoding.hidden_states, expected)


@pytest.mark.parametrize("seconds", [3.07, 2.5])
def test_encoding_a_span_equals_the_same_frames_of_the_whole_clip(clip_encoder, seconds):
    audio = noise(seconds, seed=6)
    with torch.inference_mode():
        whole = clip_encoder.encode(audio)
        assert whole.n_frames == frame_count(len(audio))
        spans = [(0, 500), (100, 20_000), (15_900, 16_100), (16_000, 32_000), (30_000, len(audio)),
                 (len(audio) - 50, len(audio) + 9_999), (-400, 700), (40_000, 41_000)]
        for first, end in spans:
            part = clip_encoder.encode(audio, first, end)
            lo = part.first_frame
            assert lo == min(max(0, first) // FRAME_SAMPLES, whole.n_frames - 1)
            assert part.n_frames >= 1
            torch.testing.assert_close(part.hidden_states, whole.hidden_states[:, lo:lo + part.n_frames],
                                       msg=f"span {first}..{end}")
            # The span covers at least the requested samples (clipped to the clip).
            last_needed = -(-min(end, len(audio)) // FRAME_SAMPLES)
            assert lo + part.n_frames >= min(last_needed, whole.n_frames)


def test_encode_with_grad_enabled_gives_the_same_states(clip_encoder):
    audio = noise(2.2, seed=8)
    with torch.no_grad():
        expected = clip_encoder.encode(audio).hidden_states
    states = clip_encoder.encode(audio).hidden_states
    torch.testing.assert_close(states.detach(), expected)


def encoding(n_frames: int, first_frame: int = 0) -> ClipEncoding:
    return ClipEncoding(torch.zeros(1, n_frames, 2), n_samples=10**6, first_frame=first_frame)


def test_frame_range_inside_the_encoding():
    enc = encoding(20, first_frame=10)
    # Samples [320*12, 320*15) are frames 12..14, rows 2..4.
    assert enc.frame_range(320 * 12, 320 * 3) == (2, 5)
    # A window that starts and ends inside frames covers the partly overlapped ones too.
    assert enc.frame_range(320 * 12 + 5, 320 * 3) == (2, 6)


def test_frame_range_window_before_the_encoding_gets_its_first_row():
    enc = encoding(20, first_frame=10)
    assert enc.frame_range(0, 320) == (0, 1)
    assert enc.frame_range(-1000, 500) == (0, 1)


def test_frame_range_window_past_the_end_gets_the_last_row():
    enc = encoding(20, first_frame=10)
    assert enc.frame_range(320 * 40, 320) == (19, 20)
    # Overlapping the end: clipped to the encoded rows.
    assert enc.frame_range(320 * 28, 320 * 5) == (18, 20)


def test_frame_range_window_straddling_the_start():
    enc = encoding(20, first_frame=10)
    assert enc.frame_range(320 * 8, 320 * 4) == (0, 2)


def count_forward_calls(clip_encoder, monkeypatch) -> list[int]:
    calls = []
    original = clip_encoder.forward_chunks

    def counting(chunks, n_layers=None):
        calls.append(chunks.shape[-1])
        return original(chunks, n_layers)

    monkeypatch.setattr(clip_encoder, "forward_chunks", counting)
    return calls


def test_the_chunk_shared_by_consecutive_spans_is_encoded_once(clip_encoder, monkeypatch):
    audio = noise(2.0, seed=9)
    calls = count_forward_calls(clip_encoder, monkeypatch)
    with torch.inference_mode():
        clip_encoder.encode(audio, 0, 20_000)  # chunks 0 and 1
        clip_encoder.encode(audio, 17_000, 30_000)  # chunk 1 again: from the memo
    assert len(calls) == 2


def test_changed_weights_are_never_served_from_the_memo():
    clip_encoder = WhisperClipEncoder(whisper_classifier(seed=1).encoder, mel_filters())
    audio = noise(0.8, seed=10)
    with torch.inference_mode():
        before = clip_encoder.encode(audio).hidden_states.clone()
    with torch.no_grad():  # as an optimizer step does, in place
        clip_encoder.encoder.layers[1].fc2.bias.add_(1.0)
    with torch.inference_mode():
        after = clip_encoder.encode(audio).hidden_states
        padded = np.pad(audio, (0, -len(audio) % FRAME_SAMPLES))
        expected = clip_encoder.forward_chunks(torch.from_numpy(padded)[None])[:, 0]
    torch.testing.assert_close(after[:2], before[:2])  # layers below the change are the same
    assert not torch.allclose(after[-1], before[-1])
    torch.testing.assert_close(after, expected)


def count_layer_runs(clip_encoder) -> list[int]:
    """The index of each encoder layer as it runs (forward hooks)."""
    runs: list[int] = []
    for index, layer in enumerate(clip_encoder.encoder.layers):
        layer.register_forward_hook(lambda *_, index=index: runs.append(index))
    return runs


def test_the_memo_extends_shallow_states_with_only_the_missing_layers():
    clip_encoder = WhisperClipEncoder(whisper_classifier(seed=2).encoder, mel_filters())
    audio = noise(0.9, seed=12)  # one chunk
    runs = count_layer_runs(clip_encoder)
    with torch.inference_mode():
        shallow = clip_encoder.encode(audio, n_layers=1).hidden_states.clone()
        full = clip_encoder.encode(audio).hidden_states.clone()
        again = clip_encoder.encode(audio, n_layers=1).hidden_states
    assert runs == list(range(N_LAYERS))  # layer 0 once for the shallow call, the rest on top, then none
    assert shallow.shape[0] == 2 and full.shape[0] == N_LAYERS + 1
    torch.testing.assert_close(again, shallow)
    clip_encoder.forget()
    with torch.inference_mode():
        fresh = clip_encoder.encode(audio).hidden_states
    torch.testing.assert_close(full, fresh)  # the final layer norm included


def test_extend_states_cuts_states_that_are_already_deep_enough(clip_encoder):
    audio = torch.from_numpy(noise(0.5, seed=13))[None]
    with torch.no_grad():
        full = clip_encoder.forward_chunks(audio)
        torch.testing.assert_close(clip_encoder.extend_states(full, 1), full[:2])
        torch.testing.assert_close(clip_encoder.extend_states(full[:2]), full)
