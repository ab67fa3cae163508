import dataclasses

import numpy as np
import pytest

from emotrack.core.analysis import WindowProbabilities, adaptive_keyframes, fixed_keyframes
from emotrack.core.emotions import EMOTIONS
from emotrack.core.settings import AnalysisSettings
from emotrack.core.vad import VoiceActivity, detect_voice
from emotrack.core.windowing import pool_windows_into_frames, window_centres, window_starts
from emotrack.errors import ParameterError

SR = 16_000
N = EMOTIONS.index("neutral")


def test_window_starts_cover_the_clip():
    starts = window_starts(10 * SR, 14_400, 7_200)
    assert starts[0] == 0 and np.all(np.diff(starts) == 7_200)
    assert starts[-1] + 14_400 >= 10 * SR > starts[-2] + 14_400
    assert list(window_starts(5_000, 14_400, 7_200)) == [0]
    assert len(window_starts(0, 14_400, 7_200)) == 0


def test_window_centres_use_only_real_audio():
    assert list(window_centres(np.array([0, 10]), 8, 14)) == [4.0, 12.0]


def test_pooling_averages_windows_centred_in_each_frame():
    probs = np.array([[1.0, 0], [0, 1.0], [0.5, 0.5]])
    centres = np.array([100.0, 900.0, 1500.0])
    pooled = pool_windows_into_frames(probs, centres, np.array([0, 1000, 2000]), 1000)
    np.testing.assert_allclose(pooled[0], [0.5, 0.5])
    np.testing.assert_allclose(pooled[1], [0.5, 0.5])
    np.testing.assert_allclose(pooled[2], [0.5, 0.5])  # no centre inside: nearest window


@pytest.mark.parametrize("kwargs, words", [
    ({"hop": 1000}, "hop must be between window/10 and window/2"),
    ({"hop": 8000}, "hop must be between"),
    ({"window": 16_000, "hop": 8_000}, "window must be between 1/10 and 9/10"),
    ({"window": 1_000, "hop": 500}, "window must be between 1/10 and 9/10"),
    ({"keyframe_interval": 0.0}, "keyframe_interval"),
    ({"anchor": "centre"}, "anchor"),
    ({"window": -5}, "positive whole number"),
])
def test_patent_ranges_are_validated(kwargs, words):
    with pytest.raises(ParameterError, match=words):
        AnalysisSettings(**kwargs)


def test_defaults_sit_inside_the_patent_ranges():
    s = AnalysisSettings()
    assert s.window / 10 <= s.hop <= s.window / 2
    assert s.frame_samples / 10 <= s.window <= 9 * s.frame_samples / 10


def _windows(probabilities, n_samples, window=14_400, hop=7_200):
    starts = window_starts(n_samples, window, hop)
    assert len(starts) == len(probabilities)
    return WindowProbabilities(starts, window, hop, np.asarray(probabilities, float), n_samples, SR)


def onehot(i):
    v = np.zeros(6)
    v[i] = 1.0
    return v


@pytest.mark.parametrize("anchor, first_time", [("start", 0.0), ("middle", 0.5), ("end", 1.0)])
def test_fixed_keyframes_one_per_interval_at_the_anchor(anchor, first_time):
    n = 5 * SR
    count = len(window_starts(n, 14_400, 7_200))
    wp = _windows([onehot(i % 6) for i in range(count)], n)
    keys = fixed_keyframes(wp, AnalysisSettings(anchor=anchor))
    assert len(keys) == 5
    assert keys[0].time == pytest.approx(first_time)
    assert np.allclose([k.vector.sum() for k in keys], 1.0)


def test_silent_frames_get_neutral():
    n = 4 * SR
    count = len(window_starts(n, 14_400, 7_200))
    wp = _windows([onehot(0)] * count, n)
    voiced = np.zeros(400, bool)
    voiced[:200] = True  # speech in the first two seconds only
    keys = fixed_keyframes(wp, AnalysisSettings(), VoiceActivity(voiced))
    assert [int(np.argmax(k.vector)) for k in keys] == [0, 0, N, N]


def test_clip_vector_averages_only_the_speech_windows():
    n = 4 * SR
    starts = window_starts(n, 14_400, 7_200)
    # Anger while the windows are inside the speech (first 2 s), sadness over silence.
    wp = _windows([onehot(0) if s + 14_400 <= 2 * SR else onehot(5) for s in starts], n)
    voiced = np.zeros(400, bool)
    voiced[:200] = True
    assert np.argmax(wp.clip_vector()) == 5  # every window votes
    speech_only = wp.clip_vector(VoiceActivity(voiced))
    assert speech_only.sum() == pytest.approx(1.0)
    assert speech_only[0] > 0.5
    # No speech anywhere: every window votes rather than nothing.
    np.testing.assert_allclose(wp.clip_vector(VoiceActivity(np.zeros(400, bool))), wp.clip_vector())


def test_adaptive_keys_cut_at_pauses_and_at_lasting_emotion_changes():
    n = 10 * SR
    starts = window_starts(n, 14_400, 7_200)
    centres = (starts + np.minimum(starts + 14_400, n)) / 2 / SR
    # anger until 3 s, then joy; a pause between 6 and 7 s
    probs = [0.8 * onehot(0) + 0.2 * onehot(N) if c < 3 else 0.8 * onehot(3) + 0.2 * onehot(N) for c in centres]
    wp = _windows(probs, n)
    voiced = np.ones(1000, bool)
    voiced[600:700] = False
    keys = adaptive_keyframes(wp, AnalysisSettings(adaptive=True, anchor="start", switch_windows=2), VoiceActivity(voiced))
    labels = [EMOTIONS[int(np.argmax(k.vector))] for k in keys]
    assert labels == ["anger", "joy", "neutral", "joy"]
    assert keys[2].time == pytest.approx(6.0)
    assert keys[3].time == pytest.approx(7.0)
    assert 2.5 <= keys[1].time <= 3.5


def test_a_brief_rival_does_not_start_a_key():
    n = 6 * SR
    starts = window_starts(n, 14_400, 7_200)
    probs = [onehot(0)] * len(starts)
    probs[5] = onehot(5)  # one window of sadness
    keys = adaptive_keyframes(_windows(probs, n), AnalysisSettings(adaptive=True), VoiceActivity(np.ones(600, bool)))
    assert len(keys) == 1 and np.argmax(keys[0].vector) == 0


def test_vad_finds_speech_between_silences():
    t = np.arange(SR) / SR
    burst = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    silence = np.zeros(SR, np.float32)
    audio = np.concatenate([silence, burst, silence, burst, silence])
    segments = detect_voice(audio, SR).segments()
    assert len(segments) == 2
    assert segments[0][0] == pytest.approx(1.0, abs=0.03) and segments[0][1] == pytest.approx(2.0, abs=0.03)
    assert segments[1][0] == pytest.approx(3.0, abs=0.03)


def trimmed_words(words: int = 4) -> np.ndarray:
    """A line trimmed to its words: each word 0.5 s, its level falling from 0 to -20 dB
    (stressed onset, soft ending), 30 ms closures at -40 dB between words and no silence
    before the first or after the last. Its quietest tenth is speech, not a floor."""
    t = np.arange(SR // 2) / SR
    word = 10 ** (-40 * t / 20) * np.sin(2 * np.pi * 200 * t)  # -20 dB by the end
    closure = 0.01 * np.sin(2 * np.pi * 200 * np.arange(int(0.03 * SR)) / SR)
    parts = [word if i % 2 == 0 else closure for i in range(2 * words - 1)]
    return (0.3 * np.concatenate(parts)).astype(np.float32)


def test_vad_hears_a_line_trimmed_to_its_words_as_it_does_with_silence_around():
    line = trimmed_words()
    silence = np.zeros(SR // 2, np.float32)
    padded = detect_voice(np.concatenate([silence, line, silence]), SR).voiced
    trimmed = detect_voice(line, SR).voiced
    within = padded[50:50 + len(trimmed)]
    assert within.mean() > 0.9
    assert trimmed.mean() >= 0.9 * within.mean()  # a 10th-percentile floor kept a third


def test_vad_takes_a_clip_without_any_pause_as_speech_but_quiet_hiss_as_none():
    steady = (0.3 * np.sin(2 * np.pi * 200 * np.arange(SR) / SR)).astype(np.float32)
    assert detect_voice(steady, SR).voiced.all()  # no floor to measure: loud enough is speech
    hiss = (0.0005 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)  # about -66 dBFS
    assert not detect_voice(hiss, SR).voiced.any()


def test_vad_bridges_short_pauses():
    t = np.arange(SR) / SR
    burst = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    audio = np.concatenate([np.zeros(SR), burst, np.zeros(SR // 10), burst, np.zeros(SR)]).astype(np.float32)
    assert len(detect_voice(audio, SR, min_pause=0.25).segments()) == 1
    assert len(detect_voice(audio, SR, min_pause=0.05).segments()) == 2


def test_vad_fraction():
    va = VoiceActivity(np.array([True] * 50 + [False] * 50))
    assert va.fraction(0.0, 0.5) == 1.0 and va.fraction(0.5, 1.0) == 0.0
    assert va.fraction(0.25, 0.75) == pytest.approx(0.5)


def test_settings_replace_revalidates():
    with pytest.raises(ParameterError):
        dataclasses.replace(AnalysisSettings(), hop=1)
