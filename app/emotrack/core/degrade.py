"""Controlled degradations of clean speech, for quality benchmarks and tests.

Pure numpy (the codec round trip imports PyAV lazily). Every function takes and returns
float32 mono samples at ``sample_rate`` (16 kHz by default) and takes an explicit
``numpy.random.Generator`` where it draws noise, so a benchmark is reproducible.
"""

from __future__ import annotations

import io

import numpy as np

SAMPLE_RATE = 16000


def _power(samples: np.ndarray) -> float:
    return float(np.mean(np.asarray(samples, dtype=np.float64) ** 2))


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """clean + noise scaled so that 10 log10(P_clean / P_noise) = ``snr_db``.

    ``noise`` is tiled or cut to the clean length.
    """
    noise = fit_length(noise, clean.size)
    noise_power = _power(noise)
    if noise_power == 0.0:
        raise ValueError("noise is digital silence: SNR is undefined")
    scale = np.sqrt(_power(clean) / noise_power / 10.0 ** (snr_db / 10.0))
    return (clean + scale * noise).astype(np.float32)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Tile or cut to exactly ``length`` samples."""
    if samples.size == 0:
        raise ValueError("cannot fit an empty signal")
    repeats = int(np.ceil(length / samples.size))
    return np.tile(samples, repeats)[:length]


def white_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(length).astype(np.float32)


def _shape_spectrum(length: int, magnitude: np.ndarray, rng: np.random.Generator
                    ) -> np.ndarray:
    """Gaussian noise filtered to the rfft magnitude ``magnitude`` (len length//2+1)."""
    spectrum = np.fft.rfft(rng.standard_normal(length)) * magnitude
    return np.fft.irfft(spectrum, n=length).astype(np.float32)


def pink_noise(length: int, rng: np.random.Generator,
               sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """1/f power spectrum (amplitude ∝ f^-1/2), flat below 20 Hz to avoid a DC blow-up."""
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    return _shape_spectrum(length, 1.0 / np.sqrt(np.maximum(freqs, 20.0)), rng)


def brown_noise(length: int, rng: np.random.Generator,
                sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """1/f^2 power spectrum (rumble: traffic, wind, HVAC), flat below 20 Hz."""
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    return _shape_spectrum(length, 1.0 / np.maximum(freqs, 20.0), rng)


def band_noise(length: int, low_hz: float, high_hz: float, rng: np.random.Generator,
               sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """White noise kept only between ``low_hz`` and ``high_hz`` (a fan, a whine, hiss)."""
    if not 0 <= low_hz < high_hz:
        raise ValueError(f"need 0 <= low_hz < high_hz, got {low_hz}..{high_hz}")
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    return _shape_spectrum(length, ((freqs >= low_hz) & (freqs <= high_hz)).astype(np.float64), rng)


def hum(length: int, mains_hz: float, rng: np.random.Generator,
        sample_rate: int = SAMPLE_RATE, harmonics: int = 8) -> np.ndarray:
    """Mains hum: ``harmonics`` multiples of ``mains_hz`` (50 or 60) with random phases
    and amplitudes falling off with order, over a faint hiss so it is never pure tones."""
    times = np.arange(length) / sample_rate
    tones = sum(rng.uniform(0.3, 1.0) / order * np.sin(2 * np.pi * mains_hz * order * times
                                                        + rng.uniform(0, 2 * np.pi))
                for order in range(1, harmonics + 1))
    return (tones + 0.01 * rng.standard_normal(length)).astype(np.float32)


def modulated_noise(length: int, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE,
                    rate_hz: float = 1.0, depth: float = 0.9) -> np.ndarray:
    """Pink noise whose level wanders at about ``rate_hz`` (passing cars, a crowd, rain
    gusts): non-stationary, so a noise-floor estimate from the pauses alone misjudges it."""
    noise = pink_noise(length, rng, sample_rate)
    knots = max(2, int(np.ceil(length / sample_rate * rate_hz)) + 2)
    envelope = np.interp(np.linspace(0, knots - 1, length), np.arange(knots), rng.uniform(0, 1, knots))
    return (noise * (1.0 - depth + depth * envelope)).astype(np.float32)


def speech_shaped_noise(speech: np.ndarray, length: int, rng: np.random.Generator
                        ) -> np.ndarray:
    """Stationary noise with the long-term average magnitude spectrum of ``speech``."""
    frame = 512
    usable = speech[: speech.size // frame * frame].reshape(-1, frame)
    average = np.sqrt(np.mean(np.abs(np.fft.rfft(usable * np.hanning(frame), axis=1)) ** 2,
                              axis=0))
    # Interpolate the 257-bin average onto the rfft grid of the requested length.
    grid = np.linspace(0.0, 1.0, length // 2 + 1)
    magnitude = np.interp(grid, np.linspace(0.0, 1.0, average.size), average)
    return _shape_spectrum(length, magnitude, rng)


def babble_noise(utterances: list[np.ndarray], length: int, rng: np.random.Generator,
                 talkers: int = 4) -> np.ndarray:
    """Sum of ``talkers`` other utterances, each at equal power and a random offset."""
    if not utterances:
        raise ValueError("babble needs at least one utterance")
    babble = np.zeros(length, dtype=np.float64)
    for index in rng.choice(len(utterances), size=talkers, replace=len(utterances) < talkers):
        voice = fit_length(np.roll(utterances[index], rng.integers(utterances[index].size)),
                           length)
        babble += voice / np.sqrt(_power(voice) + 1e-12)
    return babble.astype(np.float32)


def synthetic_room_impulse(rt60: float, rng: np.random.Generator,
                           sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Exponentially decaying Gaussian tail after a unit direct path.

    Amplitude decays 60 dB in ``rt60`` seconds; the tail starts after 2.5 ms (early
    reflections) and is scaled so its energy equals the direct path's times rt60 / 0.1,
    which makes long rooms audibly wetter than short ones.
    """
    if rt60 <= 0:
        raise ValueError(f"rt60 must be positive, got {rt60}")
    length = int(rt60 * sample_rate)
    times = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * 10.0 ** (-3.0 * times / rt60)
    tail[: int(0.0025 * sample_rate)] = 0.0
    tail *= np.sqrt((rt60 / 0.1) / (np.sum(tail ** 2) + 1e-12)) * 0.5
    tail[0] = 1.0
    return tail


def reverberate(clean: np.ndarray, rt60: float, rng: np.random.Generator,
                sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Convolve with a synthetic RIR; same length and RMS as the input."""
    impulse = synthetic_room_impulse(rt60, rng, sample_rate)
    size = clean.size + impulse.size - 1
    n_fft = 1 << (size - 1).bit_length()
    wet = np.fft.irfft(np.fft.rfft(clean, n_fft) * np.fft.rfft(impulse, n_fft), n_fft)
    wet = wet[: clean.size]
    return (wet * np.sqrt(_power(clean) / (_power(wet) + 1e-12))).astype(np.float32)


def hard_clip(clean: np.ndarray, fraction_of_peak: float) -> np.ndarray:
    """Clip at ``fraction_of_peak`` × peak, then restore the original peak level."""
    if not 0 < fraction_of_peak <= 1:
        raise ValueError(f"fraction_of_peak must be in (0, 1], got {fraction_of_peak}")
    peak = float(np.max(np.abs(clean)))
    limit = peak * fraction_of_peak
    return (np.clip(clean, -limit, limit) / fraction_of_peak).astype(np.float32)


def band_limit(clean: np.ndarray, low_hz: float, high_hz: float,
               sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Zero-phase brick-wall band-pass (FFT mask) keeping ``low_hz``..``high_hz``."""
    freqs = np.fft.rfftfreq(clean.size, 1.0 / sample_rate)
    spectrum = np.fft.rfft(clean)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0.0
    return np.fft.irfft(spectrum, n=clean.size).astype(np.float32)


def align_to(reference: np.ndarray, degraded: np.ndarray, max_lag: int = 4000) -> np.ndarray:
    """Shift ``degraded`` by the lag (|lag| <= max_lag) of best cross-correlation with
    ``reference`` and pad/cut to its length (codecs add encoder delay)."""
    n_fft = 1 << (reference.size + degraded.size).bit_length()
    correlation = np.fft.irfft(np.fft.rfft(degraded, n_fft) * np.conj(np.fft.rfft(reference, n_fft)),
                               n_fft)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    lag = int(lags[np.argmax(correlation[lags])])
    if lag >= 0:
        shifted = degraded[lag:]
    else:
        shifted = np.concatenate([np.zeros(-lag, dtype=degraded.dtype), degraded])
    out = np.zeros(reference.size, dtype=np.float32)
    out[: min(reference.size, shifted.size)] = shifted[: reference.size]
    return out


# PyAV encoder name, container and the sample rate each codec runs at. AMR-NB and G.726
# are telephone codecs (8 kHz, narrow band); AAC is FFmpeg's native encoder.
_CODECS = {"opus": ("libopus", "ogg", 48000), "mp3": ("libmp3lame", "mp3", 16000),
           "aac": ("aac", "adts", 16000), "amr_nb": ("libopencore_amrnb", "amr", 8000),
           "g726": ("g726", "wav", 8000)}
CODECS = tuple(_CODECS)


def codec_round_trip(clean: np.ndarray, codec: str, bitrate: int,
                     sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Encode at ``bitrate`` bit/s with one of ``CODECS`` (PyAV) and decode, time-aligned."""
    import av

    if codec not in _CODECS:
        raise ValueError(f"codec must be one of {sorted(_CODECS)}, got {codec!r}")
    encoder_name, container_format, codec_rate = _CODECS[codec]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        stream = container.add_stream(encoder_name, rate=codec_rate)
        stream.bit_rate = bitrate
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=codec_rate)
        frame = av.AudioFrame.from_ndarray(
            np.clip(clean, -1, 1).astype(np.float32)[None], format="flt", layout="mono")
        frame.sample_rate = sample_rate
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    decoded = []
    with av.open(buffer, mode="r") as container:
        back = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        for frame in container.decode(audio=0):
            for resampled in back.resample(frame):
                decoded.append(resampled.to_ndarray().reshape(-1))
        for resampled in back.resample(None):
            decoded.append(resampled.to_ndarray().reshape(-1))
    return align_to(clean, np.concatenate(decoded).astype(np.float32))


def drop_out(clean: np.ndarray, count: int, seconds: float, rng: np.random.Generator,
             sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Zero ``count`` spans of ``seconds`` each (lost packets, a loose cable), placed at
    random among the loud 20 ms frames; returns the audio and the (start, end) spans."""
    out = np.array(clean, dtype=np.float32)
    length = max(1, int(seconds * sample_rate))
    frame = int(0.02 * sample_rate)
    usable = out[: out.size // frame * frame].reshape(-1, frame)
    energy = np.mean(usable.astype(np.float64) ** 2, axis=1)
    loud = np.flatnonzero(energy >= np.percentile(energy, 70))
    loud = loud[(loud * frame + length < out.size) & (loud > 0)]
    spans = []
    for index in np.sort(rng.choice(loud, size=min(count, loud.size), replace=False)):
        start = int(index * frame)
        out[start:start + length] = 0.0
        spans.append((start / sample_rate, (start + length) / sample_rate))
    return out, spans
