"""Decode any voice recording into float32 mono 16 kHz.

soundfile (libsndfile) reads WAV, AIFF, AU, FLAC, OGG/Vorbis, Opus and MP3 quickly and
exactly; PyAV (FFmpeg) covers the rest (M4A/AAC/ALAC, WavPack, video containers).
Headerless raw PCM is read when the caller says how it is laid out. soxr resamples.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import AudioError, ParameterError

TARGET_RATE = 16_000
# Peak below this (about -80 dBFS) means there is nothing to analyse.
SILENCE_PEAK = 1e-4
# Shorter clips are refused by every command: 0.1 s is shorter than any syllable, below
# the models' STFT padding and one analysis hop, and what a 1-sample "93 % anger" came from.
MIN_CLIP_SECONDS = 0.1
# Sample rates a header (or --raw-rate) may state; outside is a corrupt or lying header
# that would make the resampler allocate gigabytes or hang.
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 384_000
MAX_CHANNELS = 64
# Full scale is ±1 after decoding; float files may overshoot a little, but a peak above
# this is garbage that turns into NaN probabilities.
MAX_SAMPLE_MAGNITUDE = 1e3

# Raw PCM sample types a user can name, mapped to libsndfile subtypes.
RAW_SAMPLE_TYPES: dict[str, str] = {
    "s8": "PCM_S8", "u8": "PCM_U8", "s16": "PCM_16", "s24": "PCM_24", "s32": "PCM_32",
    "f32": "FLOAT", "f64": "DOUBLE",
}


_SAMPLE_BYTES = {"s8": 1, "u8": 1, "s16": 2, "s24": 3, "s32": 4, "f32": 4, "f64": 8}


class SilentAudioWarning(UserWarning):
    """The clip decoded fine but holds (almost) no signal."""


class DamagedAudioWarning(UserWarning):
    """The clip decoded, but the decoder skipped or repaired damaged data on the way."""


@dataclass(frozen=True)
class RawFormat:
    """Layout of a headerless PCM file."""

    sample_rate: int
    channels: int = 1
    sample_type: str = "s16"
    endian: str = "little"

    def __post_init__(self) -> None:
        if isinstance(self.sample_rate, bool) or not isinstance(self.sample_rate, int) or not (
            MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE
        ):
            raise ParameterError(f"raw sample rate must be {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz, "
                                 f"got {self.sample_rate!r}")
        if isinstance(self.channels, bool) or not isinstance(self.channels, int) or not (
            1 <= self.channels <= MAX_CHANNELS
        ):
            raise ParameterError(f"raw channel count must be 1..{MAX_CHANNELS}, got {self.channels!r}")
        if self.sample_type not in RAW_SAMPLE_TYPES:
            raise ParameterError(
                f"raw sample type must be one of {', '.join(RAW_SAMPLE_TYPES)}, got {self.sample_type!r}"
            )
        if self.endian not in ("little", "big"):
            raise ParameterError(f"raw endianness must be 'little' or 'big', got {self.endian!r}")

    @property
    def frame_bytes(self) -> int:
        return self.channels * _SAMPLE_BYTES[self.sample_type]




@dataclass(frozen=True)
class AudioClip:
    """Decoded audio, ready for the models. ``samples`` is float32 mono at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int
    original_rate: int
    channels: int  # channel count of the source file
    path: Path | None = None

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def load_audio(
    path: str | Path,
    channel: int | None = None,
    raw: RawFormat | None = None,
    target_rate: int = TARGET_RATE,
) -> AudioClip:
    """Read ``path`` as mono float32 at ``target_rate``.

    ``channel``: None mixes all channels down; an index picks one. Raises
    :class:`AudioError` with a one-line reason for anything unusable, and warns
    (:class:`SilentAudioWarning`) when the clip is silent.
    """
    path = Path(path)
    _check_regular_file(path)
    if raw is not None:
        data, rate = _read_raw(path, raw)
    else:
        notes: list[str] = []
        with _native_stderr_captured() as chatter:
            data, rate = _decode(path, notes)
        _warn_damaged(path, notes, chatter)
    return _to_clip(path, data, rate, channel, target_rate)


_STDERR_CAPTURE = threading.Lock()


@contextlib.contextmanager
def _native_stderr_captured():
    """Collect what the C decoders write straight to file descriptor 2 (libmpg123 inside
    libsndfile prints "Note: Illegal Audio-MPEG-Header ..." for every damaged frame), so
    that a command's stderr stays one line. Yields a list that holds the captured lines
    once the block ends. While it runs, anything else written to fd 2 is captured too, so
    only native decoding goes inside (no Python warnings: see ``notes`` in :func:`_decode`)."""
    lines: list[str] = []
    # fd 2 is one per process: two threads redirecting it at once could restore each
    # other's sink and lose stderr for good, so a second concurrent decode goes
    # uncaptured (its chatter lands in the first one's sink).
    if not _STDERR_CAPTURE.acquire(blocking=False):
        yield lines
        return
    try:
        sink = _stderr_sink()
        if sink is None:
            yield lines
            return
        saved = os.dup(2)
        with sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield lines
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                # Bounded: a long damaged file can log a line per frame.
                text = sink.read(64 * 1024).decode("utf-8", "replace")
                lines.extend(line.strip() for line in text.splitlines() if line.strip())
    finally:
        _STDERR_CAPTURE.release()


def _stderr_sink():
    """A temporary file to catch fd 2 in, or None where capturing is impossible (no fd 2
    under a GUI launcher, no sys.stderr, no writable temp folder): then decode uncaptured."""
    try:
        sys.stderr.flush()
        os.fstat(2)
        return tempfile.TemporaryFile()
    except (OSError, ValueError, AttributeError):
        return None


def _warn_damaged(path: Path, notes: list[str], chatter: list[str]) -> None:
    """One warning line for what the decoders reported, instead of their raw output."""
    if chatter:
        first = chatter[0].split("] ", 1)[-1]  # drop libmpg123's "[src/file.c:func():line] "
        first = first if len(first) <= 80 else first[:77] + "..."
        notes.append(f"the decoder reported damaged or odd data ({len(chatter)} message(s), first: "
                     f"{first!r}); the audio may have gaps or glitches")
    for note in notes:
        warnings.warn(f"{path.name}: {note}", DamagedAudioWarning, stacklevel=3)


def _check_regular_file(path: Path) -> None:
    """Refuse what cannot be audio before opening it: a FIFO would block forever and
    /dev/zero never ends, so only regular files (through symlinks) are read."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if path.is_symlink():
            raise AudioError(f"{path} is a broken link (its target does not exist)") from None
        raise AudioError(f"no such file: {path}") from None
    except OSError as error:  # a symlink loop, a name too long, no permission on a folder
        raise AudioError(f"cannot open {path}: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise AudioError(f"{path} is a folder, not an audio file")
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        raise AudioError(f"{path} is not a regular file but {kind}; save the audio to a file first")
    if info.st_size == 0:
        raise AudioError(f"{path} is empty (0 bytes)")


def _check_header(path: Path, rate: int, channels: int) -> None:
    """Before any sample is read: a stated rate or channel count outside what recorders
    produce means a corrupt header, and trusting it can cost gigabytes."""
    if rate <= 0 or channels <= 0:  # FFmpeg guessed a stream in something that is not audio
        raise AudioError(f"cannot read {path.name}: not an audio file or an unsupported format")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"{path.name}: the header states a sample rate of {rate} Hz; "
                         f"supported is {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"{path.name}: the header states {channels} channels; supported is 1..{MAX_CHANNELS}")


def _read_raw(path: Path, raw: RawFormat) -> tuple[np.ndarray, int]:
    frame_bytes = raw.frame_bytes
    size = path.stat().st_size
    if size % frame_bytes:
        raise AudioError(
            f"{path}: {size} bytes is not a whole number of {raw.channels}-channel "
            f"{raw.sample_type} frames ({frame_bytes} bytes each); check the raw format"
        )
    data, rate = sf.read(
        path, samplerate=raw.sample_rate, channels=raw.channels, format="RAW",
        subtype=RAW_SAMPLE_TYPES[raw.sample_type], endian=raw.endian.upper(),
        dtype="float32", always_2d=True,
    )
    return data, rate


def _decode(path: Path, notes: list[str]) -> tuple[np.ndarray, int]:
    """Decode with libsndfile, else FFmpeg. Runs with fd 2 captured, so problems worth a
    warning are appended to ``notes`` and warned about by the caller."""
    try:
        sound_file = sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, AttributeError):
        return _decode_with_pyav(path, notes)  # not a libsndfile format (or a broken one): let FFmpeg try
    with sound_file:
        _check_header(path, sound_file.samplerate, sound_file.channels)
        try:
            return sound_file.read(dtype="float32", always_2d=True), sound_file.samplerate
        except MemoryError:
            raise AudioError(f"{path.name}: the header states more audio than fits in memory") from None
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            pass  # a header libsndfile knows but data it cannot decode: let FFmpeg try
    return _decode_with_pyav(path, notes)


def _decode_with_pyav(path: Path, notes: list[str]) -> tuple[np.ndarray, int]:
    import av  # imported lazily: most files never need FFmpeg
    import av.logging

    # FFmpeg's log goes nowhere (PyAV's default since 13, set here so that no other
    # library's choice makes every decode print "[mp3float @ 0x...] ..." lines).
    av.logging.set_level(None)

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise AudioError(f"cannot read {path.name}: not an audio file or an unsupported format") from error
    with container:
        if not container.streams.audio:
            raise AudioError(f"{path.name} contains no audio stream")
        stream = container.streams.audio[0]
        if stream.codec_context is None:  # a stream FFmpeg has no decoder for (a lying WAV format tag)
            raise AudioError(f"cannot read {path.name}: its audio codec is unknown or unsupported")
        channels = stream.codec_context.channels or 1
        rate = stream.codec_context.sample_rate or stream.rate
        _check_header(path, int(rate or 0), int(channels))
        # Decode to interleaved float; the resampler keeps rate and layout.
        resampler = av.AudioResampler(format="flt", layout=stream.layout, rate=rate)
        chunks: list[np.ndarray] = []
        mismatched = 0
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    try:
                        converted = resampler.resample(frame)
                    except ValueError:
                        # A frame whose rate or layout differs from the first one's: in a
                        # damaged file, a corrupted frame header. Its samples cannot join.
                        mismatched += 1
                        continue
                    for out in converted:
                        chunks.append(out.to_ndarray().reshape(-1, channels))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1, channels))
        except av.error.FFmpegError as error:
            if not chunks:
                raise AudioError(f"cannot decode {path.name}: {_ffmpeg_reason(error)}") from error
            notes.append(f"decoding stopped early ({_ffmpeg_reason(error)}); using what was read")
        if mismatched:
            if not chunks:
                raise AudioError(f"cannot decode {path.name}: its frames do not agree on rate or channels")
            notes.append(f"{mismatched} damaged frame(s) whose rate or channels differ from the rest were "
                         "left out")
        data = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.float32)
        expected = _stated_samples(stream, container, rate)
    # Trust the container's duration only when it is within codec padding of what was
    # decoded: a larger gap means the stated duration is an estimate.
    if expected and abs(len(data) - expected) <= _PADDING_SLACK:
        # FFmpeg already drops the encoder's priming samples (edit list / skip
        # samples); what is left over is end padding, so trim (or pad) at the end.
        data = data[:expected] if len(data) > expected else np.pad(data, ((0, expected - len(data)), (0, 0)))
    return data, rate


def _ffmpeg_reason(error: Exception) -> str:
    """FFmpeg's reason without the errno number and function name PyAV adds."""
    return getattr(error, "strerror", None) or str(error)


# AAC: up to 2112 priming + 1023 padding samples; Vorbis blocks are at most 8192.
_PADDING_SLACK = 8192


def _stated_samples(stream, container, rate: int) -> int | None:
    """Sample count the container states. AAC comes back with up to a frame of end
    padding and Vorbis can come back short, so we trim or pad to this."""
    if stream.start_time is None:
        return None  # a stream without timestamps (ADTS .aac): any duration is a bit-rate guess
    if stream.duration is not None and stream.time_base is not None:
        return int(round(float(stream.duration * stream.time_base) * rate))
    if container.duration is not None:
        return int(round(container.duration / 1_000_000 * rate))
    return None


def _to_clip(path: Path, data: np.ndarray, rate: int, channel: int | None, target_rate: int) -> AudioClip:
    n_frames, n_channels = data.shape
    if n_frames == 0:
        raise AudioError(f"{path.name} contains no audio samples (zero length)")
    if n_frames < MIN_CLIP_SECONDS * rate:
        raise AudioError(f"{path.name} is too short ({1000 * n_frames / rate:.1f} ms); "
                         f"at least {1000 * MIN_CLIP_SECONDS:.0f} ms of audio is needed")
    _check_magnitude(path, data)
    if channel is None:
        # mean(axis=1) of one column costs ~0.4 s per hour of audio; a copy is enough.
        mono = data[:, 0] if n_channels == 1 else data.mean(axis=1)
    elif 0 <= channel < n_channels:
        mono = data[:, channel]
    else:
        raise ParameterError(f"channel {channel} does not exist: {path.name} has {n_channels} channel(s) (0..{n_channels - 1})")
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if rate != target_rate:
        mono = soxr.resample(mono, rate, target_rate, quality="HQ").astype(np.float32)
    if max(float(mono.max()), -float(mono.min())) < SILENCE_PEAK:
        warnings.warn(f"{path.name} is silent: there is no speech to analyse", SilentAudioWarning, stacklevel=3)
    return AudioClip(mono, target_rate, rate, n_channels, path)


def _check_magnitude(path: Path, data: np.ndarray) -> None:
    """NaN, inf or huge samples (float files hold anything) would make NaN probabilities.
    max/min propagate NaN and allocate nothing, unlike abs(data)."""
    peak = max(float(data.max()), -float(data.min()))
    if not math.isfinite(peak):
        raise AudioError(f"{path.name} contains NaN or infinite samples")
    if peak > MAX_SAMPLE_MAGNITUDE:
        raise AudioError(f"{path.name} has samples of magnitude {peak:.3g}; decoded audio must stay "
                         f"within ±{MAX_SAMPLE_MAGNITUDE:g} (full scale is ±1)")


def save_audio(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write audio atomically (:mod:`..core.atomic`: mode kept, symlinks written
    through); the format follows the extension (WAV, FLAC, OGG, ...)."""
    from ..core.atomic import atomic_binary_file

    path = Path(path)
    audio_format = path.suffix[1:].upper()
    if audio_format not in sf.available_formats():
        raise AudioError(f"cannot write {path.name}: unknown audio format {path.suffix!r} "
                         "(use .wav, .flac or .ogg)")
    with atomic_binary_file(path) as handle:
        try:
            sf.write(handle, np.asarray(samples, dtype=np.float32), sample_rate, format=audio_format)
        except (sf.LibsndfileError, ValueError, TypeError) as error:
            raise AudioError(f"cannot write {path.name}: {error}") from error


