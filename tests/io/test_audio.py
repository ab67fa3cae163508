"""Audio input: every supported format decodes to float32 mono 16 kHz with the source's
rate and channel count kept; raw PCM, channel selection, and one-line errors.

All fixtures are generated in tmp_path: soundfile writes the libsndfile formats, PyAV
encodes AAC and WavPack.
"""

from __future__ import annotations

import os
import stat
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.errors import AudioError, EmotrackError, ParameterError
from emotrack.io.audio import (
    MIN_CLIP_SECONDS,
    AudioClip,
    DamagedAudioWarning,
    RawFormat,
    SilentAudioWarning,
    load_audio,
    save_audio,
)

SECONDS = 1.5
ONSET = 0.3  # the tone starts here, so a shifted decode (priming/padding) shows


def two_tones(rate: int, channels: int, seconds: float = SECONDS) -> np.ndarray:
    """(frames, channels) float32: 440 Hz on the left (louder), 880 Hz on the right,
    silent for the first ONSET seconds."""
    t = np.arange(int(round(seconds * rate))) / rate
    gate = (t >= ONSET).astype(np.float64)
    left = 0.4 * np.sin(2 * np.pi * 440 * t) * gate
    right = 0.2 * np.sin(2 * np.pi * 880 * t) * gate
    data = np.stack([left, right], axis=1)[:, :channels]
    return data.astype(np.float32)


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def onset_seconds(samples: np.ndarray, rate: int, level: float = 0.05) -> float:
    return float(np.flatnonzero(np.abs(samples) > level)[0] / rate)


def reference_mono(channels: int, channel: int | None = None) -> np.ndarray:
    """What the decoder should return: the same signal generated directly at 16 kHz."""
    data = two_tones(16_000, channels).astype(np.float64)
    return data.mean(axis=1) if channel is None else data[:, channel]


def correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 0) -> float:
    """Normalised correlation of a and b, the best over shifts of up to max_lag samples
    (lossy codecs may legitimately shift the signal by their priming delay)."""
    a = np.asarray(a, np.float64) - np.mean(a)
    b = np.asarray(b, np.float64) - np.mean(b)
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    cc = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lags = np.r_[cc[: max_lag + 1], cc[size - max_lag:]] if max_lag else cc[:1]
    return float(np.max(lags) / (np.linalg.norm(a) * np.linalg.norm(b)))


def encode_with_pyav(path: Path, data: np.ndarray, rate: int, codec: str, container_format: str | None = None) -> None:
    """Encode (frames, channels) float32 with FFmpeg, the way a normal encoder would
    (first frame at pts 0, so priming is recorded in the container)."""
    import av

    layout = {1: "mono", 2: "stereo"}[data.shape[1]]
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        supported = [f.name for f in stream.codec.audio_formats]
        sample_format = next(f for f in ("fltp", "flt", "s16p", "s16", "s32p", "s32") if f in supported)
        stream.format = sample_format
        if sample_format.startswith("s16"):
            values = np.round(data * 32767).astype(np.int16)
        elif sample_format.startswith("s32"):
            values = np.round(data.astype(np.float64) * 2_147_483_647).astype(np.int32)
        else:
            values = data.astype(np.float32)
        # planar: (channels, frames); packed: (1, frames * channels) interleaved
        array = values.T if sample_format.endswith("p") else values.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(array), format=sample_format, layout=layout)
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


# suffix, writer, source rate, lossy
FORMATS = [
    ("wav", dict(format="WAV", subtype="PCM_16"), 44_100, False),
    ("aiff", dict(format="AIFF", subtype="PCM_24"), 22_050, False),
    ("au", dict(format="AU", subtype="PCM_16"), 8_000, False),
    ("flac", dict(format="FLAC", subtype="PCM_16"), 48_000, False),
    ("ogg", dict(format="OGG", subtype="VORBIS"), 44_100, True),
    ("opus", dict(format="OGG", subtype="OPUS"), 48_000, True),
    ("mp3", dict(format="MP3", subtype="MPEG_LAYER_III"), 44_100, True),
    ("m4a", dict(codec="aac"), 44_100, True),
    ("aac", dict(codec="aac", container_format="adts"), 44_100, True),
    ("wv", dict(codec="wavpack"), 44_100, False),
]


def write_format(path: Path, data: np.ndarray, rate: int, writer: dict) -> None:
    if "codec" in writer:
        encode_with_pyav(path, data, rate, **writer)
    else:
        sf.write(path, data, rate, **writer)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize(("suffix", "writer", "rate", "lossy"), FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_decodes_to_16k_mono(tmp_path, suffix, writer, rate, lossy, channels):
    path = tmp_path / f"clip.{suffix}"
    write_format(path, two_tones(rate, channels), rate, writer)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file decodes without any warning
        clip = load_audio(path)

    assert isinstance(clip, AudioClip)
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.sample_rate == 16_000
    assert clip.original_rate == rate
    assert clip.channels == channels
    assert clip.path == path
    assert np.all(np.isfinite(clip.samples))
    assert clip.duration == pytest.approx(SECONDS, abs=0.05 if lossy else 0.001)
    assert dominant_hz(clip.samples, 16_000) == pytest.approx(440, abs=3)
    # The decode lines up in time with the source (no priming left at the start).
    assert onset_seconds(clip.samples, 16_000) == pytest.approx(ONSET, abs=0.03 if lossy else 0.002)
    assert correlation(clip.samples, reference_mono(channels), max_lag=800 if lossy else 0) > (0.9 if lossy else 0.999)


def test_m4a_encoder_padding_is_trimmed_exactly(tmp_path):
    """AAC in MP4 comes back from FFmpeg with up to a frame of end padding (priming is
    skipped via the edit list): the decode must match the source length and timing,
    not be cut at the start."""
    rate = 44_100
    path = tmp_path / "clip.m4a"
    encode_with_pyav(path, two_tones(rate, 1), rate, "aac")
    clip = load_audio(path, target_rate=rate)  # no resampling: compare sample counts
    assert len(clip.samples) == int(SECONDS * rate)
    assert onset_seconds(clip.samples, rate) == pytest.approx(ONSET, abs=0.002)


def test_adts_aac_estimated_duration_does_not_cut_audio(tmp_path):
    """A raw .aac (ADTS) stream states no exact length, only a bit-rate estimate; the
    decoded audio must be kept, not cut to that estimate."""
    rate = 44_100
    path = tmp_path / "clip.aac"
    encode_with_pyav(path, two_tones(rate, 1, seconds=3.0), rate, "aac", container_format="adts")
    clip = load_audio(path)
    assert clip.duration == pytest.approx(3.0, abs=0.05)
    assert onset_seconds(clip.samples, 16_000) == pytest.approx(ONSET, abs=0.03)


def test_content_decides_not_the_extension(tmp_path):
    path = tmp_path / "actually_flac.wav"
    sf.write(path, two_tones(32_000, 2), 32_000, format="FLAC")
    clip = load_audio(path)
    assert (clip.original_rate, clip.channels) == (32_000, 2)
    assert clip.duration == pytest.approx(SECONDS, abs=0.001)


# --- channels ----------------------------------------------------------------------


@pytest.fixture
def stereo_16k(tmp_path) -> tuple[Path, np.ndarray]:
    data = two_tones(16_000, 2)
    path = tmp_path / "stereo.wav"
    sf.write(path, data, 16_000, subtype="FLOAT")
    return path, data


def test_stereo_mixdown_is_the_mean_of_channels(stereo_16k):
    path, data = stereo_16k
    clip = load_audio(path)
    assert clip.channels == 2
    np.testing.assert_allclose(clip.samples, data.mean(axis=1), atol=1e-7)


@pytest.mark.parametrize("channel", [0, 1])
def test_chosen_channel_is_returned_unmixed(stereo_16k, channel):
    path, data = stereo_16k
    clip = load_audio(path, channel=channel)
    np.testing.assert_array_equal(clip.samples, data[:, channel])
    assert clip.channels == 2  # the source's count, not 1


def test_chosen_channel_survives_resampling(tmp_path):
    path = tmp_path / "stereo44.flac"
    sf.write(path, two_tones(44_100, 2), 44_100)
    right = load_audio(path, channel=1)
    left = load_audio(path, channel=0)
    assert dominant_hz(right.samples, 16_000) == pytest.approx(880, abs=3)
    assert dominant_hz(left.samples, 16_000) == pytest.approx(440, abs=3)
    assert correlation(right.samples, reference_mono(2, channel=1)) > 0.999


@pytest.mark.parametrize("channel", [2, 7, -1])
def test_missing_channel_is_a_parameter_error(stereo_16k, channel):
    path, _ = stereo_16k
    with pytest.raises(ParameterError, match=rf"channel {channel}\b.*2 channel"):
        load_audio(path, channel=channel)


# --- headerless raw PCM --------------------------------------------------------------


def test_raw_s16_little_endian_round_trip(tmp_path):
    rate = 22_050
    data = two_tones(rate, 2)
    ints = np.round(data * 32767).astype("<i2")
    path = tmp_path / "take.raw"
    path.write_bytes(ints.tobytes())  # interleaved L R L R ...

    fmt = RawFormat(sample_rate=rate, channels=2, sample_type="s16", endian="little")
    exact = load_audio(path, raw=fmt, channel=1, target_rate=rate)
    np.testing.assert_allclose(exact.samples, ints[:, 1] / 32768.0, atol=1e-7)

    clip = load_audio(path, raw=fmt)
    assert (clip.sample_rate, clip.original_rate, clip.channels) == (16_000, rate, 2)
    assert clip.duration == pytest.approx(SECONDS, abs=0.001)
    assert correlation(clip.samples, reference_mono(2)) > 0.999


def test_raw_f32_big_endian_round_trip(tmp_path):
    rate = 48_000
    data = two_tones(rate, 1)[:, 0]
    path = tmp_path / "take.pcm"
    path.write_bytes(data.astype(">f4").tobytes())

    fmt = RawFormat(sample_rate=rate, channels=1, sample_type="f32", endian="big")
    exact = load_audio(path, raw=fmt, target_rate=rate)
    np.testing.assert_array_equal(exact.samples, data)
    # Read as the wrong endianness, the same bytes are garbage: endian really is applied.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wrong = load_audio(path, raw=RawFormat(rate, 1, "f32", "little"), target_rate=rate)
        assert not np.allclose(wrong.samples, data, atol=1e-3)
    except AudioError:
        pass  # byte-swapped floats may well include NaN/inf: also not the signal

    clip = load_audio(path, raw=fmt)
    assert (clip.sample_rate, clip.original_rate, clip.channels) == (16_000, rate, 1)
    assert dominant_hz(clip.samples, 16_000) == pytest.approx(440, abs=3)


def test_raw_size_not_a_whole_number_of_frames(tmp_path):
    path = tmp_path / "odd.raw"
    path.write_bytes(b"\x00\x01" * 2001)  # 4002 bytes: not a multiple of 4 (s16 stereo)
    with pytest.raises(AudioError, match=r"4002 bytes.*whole number.*frames"):
        load_audio(path, raw=RawFormat(16_000, channels=2, sample_type="s16"))
    # ... but it is a whole number of s16 mono frames
    assert len(load_audio(path, raw=RawFormat(16_000, 1, "s16"), target_rate=16_000).samples) == 2001


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(sample_rate=5), "sample rate"),
        (dict(sample_rate=16_000.0), "sample rate"),
        (dict(sample_rate=True), "sample rate"),
        (dict(sample_rate=10_000_000), "sample rate"),
        (dict(sample_rate=16_000, channels=0), "channel count"),
        (dict(sample_rate=16_000, channels=65), "channel count"),
        (dict(sample_rate=16_000, sample_type="x24"), "sample type"),
        (dict(sample_rate=16_000, endian="middle"), "endianness"),
    ],
)
def test_absurd_raw_format_is_a_parameter_error(kwargs, words):
    with pytest.raises(ParameterError, match=words):
        RawFormat(**kwargs)


# --- unusable input: one-line AudioError ----------------------------------------------


def _one_line_audio_error(path, match: str, **kwargs) -> str:
    with pytest.raises(AudioError, match=match) as caught:
        load_audio(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message.strip() == message
    return message


def test_missing_file(tmp_path):
    _one_line_audio_error(tmp_path / "nope.wav", r"no such file.*nope\.wav")


def test_folder(tmp_path):
    _one_line_audio_error(tmp_path, "is a folder")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    _one_line_audio_error(path, r"empty \(0 bytes\)")


# FFmpeg probes by content and extension: for some names it finds a demuxer (and then
# no stream, or no decodable samples); each of these reasons is acceptable, a crash is not.
NOT_AUDIO = r"not an audio file|contains no audio stream|contains no audio samples"


@pytest.mark.parametrize("name", ["notes.wav", "notes.mp3", "notes.flac", "notes.m4a"])
def test_text_file_with_an_audio_name(tmp_path, name):
    path = tmp_path / name
    path.write_text("This is a shopping list, not a recording.\n" * 20)
    strict = name.endswith((".wav", ".mp3"))
    message = _one_line_audio_error(path, "not an audio file" if strict else NOT_AUDIO)
    assert name in message


@pytest.mark.parametrize("name", ["noise.wav", "noise.mp3", "noise.ogg", "noise.bin"])
def test_random_bytes(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(len(name)).bytes(8000))
    strict = name.endswith((".wav", ".mp3"))
    message = _one_line_audio_error(path, "not an audio file" if strict else NOT_AUDIO)
    assert name in message


def test_truncated_wav_header(tmp_path):
    full = tmp_path / "full.wav"
    sf.write(full, two_tones(16_000, 1), 16_000)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:20])  # RIFF/WAVE then the fmt chunk is cut off
    _one_line_audio_error(cut, r"cannot read cut\.wav")


def test_wav_header_without_samples(tmp_path):
    full = tmp_path / "full.wav"
    sf.write(full, two_tones(16_000, 1), 16_000, subtype="PCM_16")
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(full.read_bytes()[:44])
    _one_line_audio_error(header_only, "no audio samples")


def test_wav_cut_mid_data_keeps_what_is_there(tmp_path):
    full = tmp_path / "full.wav"
    sf.write(full, two_tones(16_000, 1), 16_000, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 2 * 16_000])  # the header still claims 1.5 s
    clip = load_audio(cut)
    assert clip.duration == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    data = two_tones(16_000, 1)
    data[1000, 0] = bad
    path = tmp_path / "nan.wav"
    sf.write(path, data, 16_000, subtype="FLOAT")
    _one_line_audio_error(path, "NaN or infinite")


def test_file_with_no_audio_stream(tmp_path):
    import av

    path = tmp_path / "video_only.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * i, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    _one_line_audio_error(path, "no audio stream")


def test_audio_errors_are_emotrack_errors():
    assert issubclass(AudioError, EmotrackError)
    assert issubclass(ParameterError, EmotrackError) and issubclass(ParameterError, ValueError)


# --- silence -------------------------------------------------------------------------


def test_silent_audio_warns_but_loads(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16_000, np.float32), 16_000)
    with pytest.warns(SilentAudioWarning, match=r"silence\.wav is silent"):
        clip = load_audio(path)
    assert clip.duration == pytest.approx(1.0)


def test_near_silent_audio_warns(tmp_path):
    path = tmp_path / "hiss.flac"
    sf.write(path, 3e-5 * two_tones(44_100, 2) / 0.4, 44_100, subtype="PCM_24")  # about -90 dBFS
    with pytest.warns(SilentAudioWarning):
        load_audio(path)


def test_quiet_speech_is_not_silent(tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(path, 0.01 * two_tones(16_000, 1), 16_000, subtype="FLOAT")  # about -48 dBFS
    with warnings.catch_warnings():
        warnings.simplefilter("error", SilentAudioWarning)
        load_audio(path)


# --- writing -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["wav", "flac"])
def test_save_audio_round_trip(tmp_path, suffix):
    data = two_tones(16_000, 1)[:, 0]
    path = tmp_path / f"out.{suffix}"
    save_audio(path, data, 16_000)
    clip = load_audio(path)
    assert clip.original_rate == 16_000 and clip.channels == 1
    np.testing.assert_allclose(clip.samples, data, atol=1e-4)  # 16-bit quantisation


def test_save_audio_unknown_format(tmp_path):
    with pytest.raises(AudioError, match=r"cannot write out\.xyz"):
        save_audio(tmp_path / "out.xyz", np.zeros(100, np.float32), 16_000)


# --- limits: tiny clips, absurd samples and headers, things that are not files -----------


def test_clip_shorter_than_the_minimum_is_refused(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(path, 0.1 * np.ones(int(0.05 * 16_000), np.float32), 16_000)
    message = _one_line_audio_error(path, "too short")
    assert "blip.wav" in message and "100 ms" in message


def test_one_sample_clip_is_refused(tmp_path):
    path = tmp_path / "one.wav"
    sf.write(path, np.array([0.5], np.float32), 44_100)
    _one_line_audio_error(path, "too short")


def test_clip_of_exactly_the_minimum_loads(tmp_path):
    path = tmp_path / "short.wav"
    t = np.arange(int(MIN_CLIP_SECONDS * 8_000)) / 8_000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8_000)
    assert load_audio(path).duration == pytest.approx(MIN_CLIP_SECONDS, abs=1e-3)


@pytest.mark.parametrize("peak", [5e3, 3e38])
def test_absurd_sample_magnitudes_are_refused(tmp_path, peak):
    data = two_tones(16_000, 1)
    data[100, 0] = peak
    path = tmp_path / "loud.wav"
    sf.write(path, data, 16_000, subtype="FLOAT")
    _one_line_audio_error(path, r"magnitude .*within ±1000")


def test_float_overshoot_below_the_limit_loads(tmp_path):
    path = tmp_path / "hot.wav"
    sf.write(path, 4.0 * two_tones(16_000, 1), 16_000, subtype="FLOAT")  # +12 dB over full scale
    assert load_audio(path).samples.max() > 1.0


@pytest.mark.parametrize("rate", [1, 999, 500_000, 10_000_000])
def test_header_sample_rate_out_of_range_is_refused_before_reading(tmp_path, rate):
    path = tmp_path / "liar.wav"
    sf.write(path, two_tones(16_000, 1), 16_000, subtype="PCM_16")
    header = bytearray(path.read_bytes())
    header[24:32] = struct.pack("<II", rate, 2 * rate)  # sample rate and byte rate fields
    path.write_bytes(bytes(header))
    message = _one_line_audio_error(path, "sample rate")
    assert f"{rate} Hz" in message and "1000..384000 Hz" in message


def test_raw_rate_above_the_header_limit_is_refused():
    with pytest.raises(ParameterError, match="1000..384000"):
        RawFormat(768_000)


def test_fifo_is_not_a_regular_file_and_does_not_block(tmp_path):
    path = tmp_path / "pipe.wav"
    os.mkfifo(path)
    message = _one_line_audio_error(path, "not a regular file")
    assert "FIFO" in message and "empty" not in message


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_character_devices_are_not_regular_files(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    assert "empty" not in _one_line_audio_error(Path(device), "not a regular file")


def test_symlink_loop_is_not_called_missing(tmp_path):
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    message = _one_line_audio_error(loop, "cannot open")
    assert "no such file" not in message


def test_broken_link_says_so(tmp_path):
    link = tmp_path / "take.wav"
    link.symlink_to(tmp_path / "gone.wav")
    _one_line_audio_error(link, "broken link")


def test_save_audio_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "out.wav"
    save_audio(path, two_tones(16_000, 1)[:, 0], 16_000)
    path.chmod(0o640)
    save_audio(path, two_tones(16_000, 1)[:, 0], 16_000)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]  # no temp file left


def _damaged_mp3(path: Path) -> Path:
    """An MP3 with bytes overwritten past its first frames: libmpg123 resyncs and prints
    "Note: Illegal Audio-MPEG-Header ..." straight to file descriptor 2."""
    clean = path.with_name("clean.mp3")
    sf.write(clean, (0.3 * np.sin(np.arange(32_000) * 0.05)).astype(np.float32), 16_000, format="MP3")
    data = bytearray(clean.read_bytes())
    rng = np.random.default_rng(1)
    for i in range(len(data) // 8, len(data), 97):
        data[i] = int(rng.integers(256))
    path.write_bytes(bytes(data))
    return path


def test_decoder_chatter_becomes_one_warning_not_raw_stderr(tmp_path, capfd):
    path = _damaged_mp3(tmp_path / "damaged.mp3")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clip = load_audio(path)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")  # nothing from libmpg123 or FFmpeg reached the terminal
    assert len(clip.samples) > 0
    damaged = [w for w in caught if issubclass(w.category, DamagedAudioWarning)]
    assert len(damaged) == 1
    message = str(damaged[0].message)
    assert message.startswith("damaged.mp3: the decoder reported damaged or odd data")
    assert "message(s), first: " in message and "\n" not in message and len(message) < 250


def test_a_clean_decode_warns_nothing_and_restores_stderr(tmp_path, capfd):
    path = tmp_path / "clean.flac"
    sf.write(path, (0.3 * np.sin(np.arange(16_000) * 0.05)).astype(np.float32), 16_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        load_audio(path)
    os.write(2, b"after\n")  # fd 2 is the terminal again
    assert capfd.readouterr().err == "after\n"


def test_an_undecodable_mp3_is_one_error_and_no_chatter(tmp_path, capfd):
    path = tmp_path / "junk.mp3"
    path.write_bytes(b"ID3" + np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match="junk.mp3"):
        load_audio(path)
    assert capfd.readouterr().err == ""


def test_concurrent_decodes_leave_stderr_working(tmp_path, capfd):
    from concurrent.futures import ThreadPoolExecutor

    damaged = _damaged_mp3(tmp_path / "damaged.mp3")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ThreadPoolExecutor(4) as pool:
            clips = list(pool.map(load_audio, [damaged] * 8))
    assert all(len(clip.samples) > 0 for clip in clips)
    capfd.readouterr()
    os.write(2, b"still here\n")
    assert capfd.readouterr().err == "still here\n"


def test_decoding_works_where_stderr_cannot_be_captured(tmp_path, monkeypatch):
    import tempfile as tempfile_module

    def no_temp_folder(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile_module, "TemporaryFile", no_temp_folder)
    path = tmp_path / "clean.flac"
    sf.write(path, (0.3 * np.sin(np.arange(16_000) * 0.05)).astype(np.float32), 16_000)
    assert len(load_audio(path).samples) == 16_000
