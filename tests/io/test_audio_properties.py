"""Generated corrupt audio for the loader (Hypothesis, seconds): WAV, FLAC, MP3, OGG and
M4A bytes flipped, cut, overwritten or spliced, and WAV headers that lie, either load
into a sane clip or raise an :class:`EmotrackError` subclass: nothing else (issue 14)."""

from __future__ import annotations

import io
import os
import struct
import warnings

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emotrack.errors import EmotrackError
from emotrack.io.audio import MAX_SAMPLE_MAGNITUDE, TARGET_RATE, load_audio

FUZZ = settings(max_examples=int(os.environ.get("EMOTRACK_FUZZ_EXAMPLES", "120")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _voice(n: int = 6400, rate: int = 16_000) -> np.ndarray:
    t = np.arange(n) / rate
    return (0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def _encode(fmt: str, subtype: str, rate: int = 16_000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, _voice(int(0.4 * rate), rate), rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def _m4a() -> bytes:
    av = pytest.importorskip("av")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16_000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(_voice().reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = 16_000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()


@pytest.fixture(scope="module")
def originals() -> dict[str, bytes]:
    return {
        "wav": _encode("WAV", "PCM_16"), "float.wav": _encode("WAV", "FLOAT"), "flac": _encode("FLAC", "PCM_16"),
        "mp3": _encode("MP3", "MPEG_LAYER_III"), "ogg": _encode("OGG", "VORBIS"), "m4a": _m4a(),
    }


@st.composite
def mutations(draw, size: int):
    """A list of (kind, position, payload) edits to apply to a file of ``size`` bytes."""
    edits = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "overwrite", "insert", "header"]))
        at = draw(st.integers(0, size - 1))
        edits.append((kind, at, draw(st.binary(min_size=1, max_size=64))))
    return edits


def _apply(raw: bytes, edits) -> bytes:
    data = bytearray(raw)
    for kind, at, payload in edits:
        at = at % max(len(data), 1)
        if kind == "flip":
            data[at] ^= payload[0] or 1
        elif kind == "truncate":
            data = data[: max(at, 1)]
        elif kind == "overwrite":
            data[at: at + len(payload)] = payload
        elif kind == "insert":
            data[at:at] = payload
        else:  # the header, where a lie costs the most
            data[at % 64: at % 64 + len(payload[:4])] = payload[:4]
    return bytes(data)


def _check_loads_or_refuses(path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged/silent warnings are allowed
        try:
            clip = load_audio(path)
        except EmotrackError as error:
            message = str(error)
            assert message and "\n" not in message and len(message) < 400, message
            return
    assert clip.sample_rate == TARGET_RATE and clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert len(clip.samples) >= 1 and np.isfinite(clip.samples).all()
    assert float(np.abs(clip.samples).max()) <= MAX_SAMPLE_MAGNITUDE * 2


@FUZZ
@given(st.sampled_from(["wav", "float.wav", "flac", "mp3", "ogg", "m4a"]), st.data())
def test_mutated_audio_loads_or_raises_an_emotrack_error(tmp_path_factory, originals, kind, data):
    raw = originals[kind]
    mutated = _apply(raw, data.draw(mutations(len(raw))))
    path = tmp_path_factory.mktemp("a") / f"take.{kind.split('.')[-1]}"
    path.write_bytes(mutated)
    _check_loads_or_refuses(path)


def test_an_mp3_whose_damaged_frame_changes_its_format_loads_or_refuses_cleanly(tmp_path, originals):
    """Found by the fuzz test above (2026-12-03): a damaged frame header whose rate or
    channels differ from the stream's made PyAV's resampler raise a bare ValueError."""
    path = tmp_path / "take.mp3"
    path.write_bytes(_apply(originals["mp3"], [("insert", 938, b"\x10\x00\x00"), ("flip", 0, b"\x00")]))
    _check_loads_or_refuses(path)


@FUZZ
@given(tag=st.sampled_from([0, 1, 2, 3, 6, 7, 0x11, 0x55, 0xFFFE, 0xFFFF]),
       channels=st.sampled_from([0, 1, 2, 7, 64, 65, 1000, 0xFFFF]),
       rate=st.sampled_from([0, 1, 999, 1000, 16_000, 384_000, 384_001, 10_000_000, 0xFFFFFFFF]),
       bits=st.sampled_from([0, 1, 7, 8, 16, 24, 32, 64, 128, 0xFFFF]),
       extensible_bytes=st.integers(0, 24), data_size=st.sampled_from([None, 0, 1, 7, 0x7FFFFFFF, 0xFFFFFFFF]),
       payload=st.binary(min_size=0, max_size=4000))
def test_wav_headers_that_lie_load_or_raise_an_emotrack_error(tmp_path_factory, tag, channels, rate, bits,
                                                             extensible_bytes, data_size, payload):
    block = max(1, channels * max(bits, 8) // 8) & 0xFFFF
    fmt = struct.pack("<HHIIHH", tag, channels, rate, (rate * block) & 0xFFFFFFFF, block, bits)
    if tag == 0xFFFE:
        ext = struct.pack("<HHIH", 22, bits, 4, 1) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += ext[:extensible_bytes]
    body = b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(payload) if data_size is None else data_size) + payload
    path = tmp_path_factory.mktemp("h") / "take.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    _check_loads_or_refuses(path)


def test_a_wav_tag_ffmpeg_has_no_decoder_for_is_an_audio_error(tmp_path):
    """Regression (fuzz_cli wav-header): PyAV returns a stream with no codec context for
    a WAV whose format tag it knows no decoder for; that was AttributeError on None."""
    payload = b"\x02"
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 16000, 1, 0)
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 1) + payload
    body += b"data" + struct.pack("<I", 0xFFFFFFFF) + payload
    path = tmp_path / "lying.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", 4) + body)
    with pytest.raises(EmotrackError, match="lying.wav"):
        load_audio(path)
