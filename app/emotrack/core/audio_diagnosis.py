"""Name what is wrong with a recording: clipping, level, noise, band limit, dropouts,
reverberation.

Each detector is a few numpy passes over 20 ms frames or 32 ms spectra and returns
``Problem`` regions with a severity in [0, 1] (how bad, and how sure: a problem just over
its threshold is both mild and uncertain). ``diagnose`` runs them all. No model: this
works without the quality network and explains its score.

Thresholds are documented next to each detector; their precision and recall on
LibriSpeech speakers with synthetic degradations are in ``benchmarks/quality_diagnosis.py``
and the README. Codec artefacts have no detector of their own: a low-bitrate codec's
low-pass shows up as ``band_limit``.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np

from emotrack.core.vad import HOP_SECONDS, VoiceActivity, detect_voice, frame_levels_db

KINDS = ("clipping", "level_low", "level_high", "noise", "band_limit", "dropouts",
         "reverberation")

# Active speech level (mean power of voiced frames) outside this range is flagged.
# Dialogue is usually recorded around -26..-18 dBFS; below -35 dBFS the noise floor of
# ordinary gear is close, above -9 dBFS the take has almost no headroom left.
LEVEL_LOW_DBFS = -35.0
LEVEL_HIGH_DBFS = -9.0
# Estimated SNR (speech power over noise floor power, as degrade.mix_at_snr defines it)
# below which the take is called noisy.
NOISE_SNR_DB = 21.0
# Band limit: the long-term spectrum of speech frames falls this far below its
# 300-3000 Hz level and stays there up to Nyquist, below this share of Nyquist.
BAND_DROP_DB = 50.0
BAND_MAX_SHARE_OF_NYQUIST = 0.85
# Clipping: runs of at least this many consecutive samples at exactly the clip's peak
# magnitude (a flat top), and at least this many runs in the clip.
CLIP_RUN_SAMPLES = 2
CLIP_MIN_RUNS = 3
# Dropouts: digital silence of 2 ms .. 0.5 s (longer is an edit or a gate, not a loss)
# with audio in the 10 ms before or after it within 30 dB of the active speech level
# (speech cut off, not a pause fading out; one side is enough, as a cut can end where a
# syllable would have faded anyway).
DROPOUT_MIN_SECONDS = 0.002
DROPOUT_MAX_SECONDS = 0.5
# A synthetic voice or a noise gate puts exact digital zero in every pause, and cuts to it
# as abruptly as a lost packet does; when this share of the clip is exact zero, its zero
# runs are taken for pauses, not dropouts (the lost packets of a recording with a noise
# floor are a few percent of it at most).
GATED_ZERO_SHARE = 0.15
# Reverberation: estimated RT60 above this is flagged.
REVERB_RT60_SECONDS = 0.33
REVERB_MIN_SNR_DB = 15.0


@dataclass(frozen=True)
class Problem:
    """One named problem over [start, end) seconds; ``detail`` holds measured values
    (``snr_db``, ``cutoff_hz``, ``active_dbfs``, ``rt60_s``)."""

    kind: str
    start: float
    end: float
    severity: float
    detail: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        record = {"kind": self.kind, "start": round(float(self.start), 3),
                  "end": round(float(self.end), 3), "severity": round(float(self.severity), 3)}
        record.update({key: round(float(value), 2) for key, value in self.detail.items()})
        return record

    @classmethod
    def from_json(cls, record: dict) -> Problem:
        """The inverse of :meth:`to_json` (keys beyond the four are the detail)."""
        detail = {key: value for key, value in record.items() if key not in _REQUIRED_KEYS}
        return cls(record["kind"], record["start"], record["end"], record["severity"], detail)


_REQUIRED_KEYS = ("kind", "start", "end", "severity")


def problem_counts_text(counts: dict[str, int]) -> str:
    """``{"noise": 1, "clipping": 3}`` as "noise, clipping ×3": what a sound editor has
    to fix in a line, for tables and reports."""
    return ", ".join(kind if count == 1 else f"{kind} ×{count}" for kind, count in counts.items())


def _clamp01(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


# Several detectors read the clip's frame levels and voice activity. While diagnose()
# runs, each is computed once for its clip (the detectors all read the same samples);
# a detector called on its own computes them itself.
_ONE_CLIP: ContextVar[dict | None] = ContextVar("diagnosed_clip", default=None)


def _frame_levels(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    shared = _ONE_CLIP.get()
    if shared is None:
        return frame_levels_db(samples, sample_rate)
    if "levels" not in shared:
        shared["levels"] = frame_levels_db(samples, sample_rate)
    return shared["levels"]


def _voice(samples: np.ndarray, sample_rate: int) -> VoiceActivity:
    shared = _ONE_CLIP.get()
    if shared is None:
        return detect_voice(samples, sample_rate)
    if "voice" not in shared:
        shared["voice"] = detect_voice(samples, sample_rate, levels=_frame_levels(samples, sample_rate))
    return shared["voice"]


def _runs(mask: np.ndarray) -> np.ndarray:
    """(start, end) index pairs of the True runs of ``mask``."""
    padded = np.concatenate([[0], mask.astype(np.int8), [0]])
    return np.flatnonzero(np.diff(padded)).reshape(-1, 2)


def _group(spans: list[tuple[float, float]], gap: float) -> list[tuple[float, float, int]]:
    """Merge sorted spans closer than ``gap`` seconds; each with how many it merged."""
    merged: list[list] = []
    for start, end in spans:
        if merged and start - merged[-1][1] <= gap:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] += 1
        else:
            merged.append([start, end, 1])
    return [(a, b, n) for a, b, n in merged]


def _speech_span(samples: np.ndarray, sample_rate: int) -> tuple[float, float]:
    duration = samples.size / sample_rate
    segments = _voice(samples, sample_rate).segments()
    if not segments:
        return 0.0, duration
    return segments[0][0], min(duration, segments[-1][1])


def detect_clipping(samples: np.ndarray, sample_rate: int) -> list[Problem]:
    """Flat tops: runs of samples at the clip's peak magnitude.

    Clean audio reaches its peak once; a clipped recorder or a hard limiter holds it for
    several samples, many times. Exact equality is why: a float waveform near a smooth
    maximum still changes from sample to sample."""
    magnitude = np.abs(samples)
    peak = float(magnitude.max(initial=0.0))
    if peak <= 0.0:
        return []
    runs = _runs(magnitude >= peak * (1.0 - 1e-6))
    runs = runs[runs[:, 1] - runs[:, 0] >= CLIP_RUN_SAMPLES]
    if len(runs) < CLIP_MIN_RUNS:
        return []
    spans = [(float(a / sample_rate), float(b / sample_rate)) for a, b in runs]
    problems = []
    for start, end, count in _group(spans, gap=0.25):
        # 20 flat tops in a region is unmistakable; 3 could be a coincidence.
        problems.append(Problem("clipping", max(0.0, start - 0.01), end + 0.01,
                                _clamp01(0.3 + count / 20.0), {"peak_dbfs": 20 * np.log10(peak)}))
    return problems


def active_level_dbfs(samples: np.ndarray, sample_rate: int) -> float | None:
    """Mean power of the voiced frames in dBFS (None when nothing is voiced)."""
    voiced = _voice(samples, sample_rate).voiced
    levels = _frame_levels(samples, sample_rate)[: voiced.size]
    if not voiced.any():
        return None
    return float(10.0 * np.log10(np.mean(10.0 ** (levels[voiced[: levels.size]] / 10.0)) + 1e-12))


def detect_level(samples: np.ndarray, sample_rate: int) -> list[Problem]:
    """Speech too quiet or too hot, over the span from first to last voiced frame."""
    level = active_level_dbfs(samples, sample_rate)
    if level is None:
        return []
    start, end = _speech_span(samples, sample_rate)
    if level < LEVEL_LOW_DBFS:
        # 15 dB under the threshold is as bad as it gets for an animator's purposes.
        return [Problem("level_low", start, end, _clamp01(0.3 + (LEVEL_LOW_DBFS - level) / 15.0),
                        {"active_dbfs": level})]
    if level > LEVEL_HIGH_DBFS:
        return [Problem("level_high", start, end, _clamp01(0.3 + (level - LEVEL_HIGH_DBFS) / 6.0),
                        {"active_dbfs": level})]
    return []


def estimate_snr_db(samples: np.ndarray, sample_rate: int) -> float | None:
    """Clip power over noise-floor power, the noise floor being the 5th percentile of
    20 ms frame powers (speech has pauses between words; stationary noise fills them).
    None for digital silence."""
    powers = 10.0 ** (_frame_levels(samples, sample_rate) / 10.0)
    # The zero-padded frames past the end are not noise.
    powers = powers[: max(1, int(samples.size / sample_rate / HOP_SECONDS) - 1)]
    noise = float(np.percentile(powers, 5))
    total = float(np.mean(powers))
    if total <= 1e-11:
        return None
    if noise <= 1e-12:
        return 99.0
    return float(10.0 * np.log10(max(total - noise, 1e-12) / noise))


def detect_noise(samples: np.ndarray, sample_rate: int) -> list[Problem]:
    snr = estimate_snr_db(samples, sample_rate)
    if snr is None or snr >= NOISE_SNR_DB:
        return []
    # -4 dB SNR or worse is as bad as it gets.
    return [Problem("noise", 0.0, samples.size / sample_rate,
                    _clamp01(0.3 + (NOISE_SNR_DB - snr) / 25.0), {"snr_db": snr})]


def _spectra(samples: np.ndarray, size: int = 512) -> np.ndarray:
    """Power spectra of Hann-windowed frames, hop = size (every other 50 % frame is
    enough for long-term averages and halves the cost)."""
    count = samples.size // size
    if count == 0:
        return np.zeros((0, size // 2 + 1))
    frames = samples[: count * size].reshape(count, size) * np.hanning(size).astype(np.float32)
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2


def estimate_cutoff_hz(samples: np.ndarray, sample_rate: int) -> float | None:
    """Highest frequency where the loud frames' average spectrum is within
    ``BAND_DROP_DB`` of its 300-3000 Hz level (None without loud frames)."""
    spectra = _spectra(samples)
    if spectra.shape[0] == 0:
        return None
    energy = spectra.sum(axis=1)
    loud = spectra[energy >= np.percentile(energy, 50)]
    if energy.max() <= 0:
        return None
    average = loud.mean(axis=0)
    freqs = np.fft.rfftfreq(512, 1.0 / sample_rate)
    # Smooth over ~250 Hz so one weak bin does not count as the edge.
    width = max(1, int(round(250 / (freqs[1] - freqs[0]))))
    smooth = np.convolve(average, np.ones(width) / width, mode="same")
    reference = np.median(smooth[(freqs >= 300) & (freqs <= 3000)])
    if reference <= 0:
        return None
    above = np.flatnonzero(10 * np.log10(smooth / reference + 1e-30) > -BAND_DROP_DB)
    return float(freqs[above[-1]]) if above.size else None


def detect_band_limit(samples: np.ndarray, sample_rate: int) -> list[Problem]:
    cutoff = estimate_cutoff_hz(samples, sample_rate)
    nyquist = sample_rate / 2
    if cutoff is None or cutoff >= BAND_MAX_SHARE_OF_NYQUIST * nyquist:
        return []
    start, end = _speech_span(samples, sample_rate)
    # Telephone band (3.4 kHz) at 16 kHz is severe; 6.5 kHz is mild.
    severity = _clamp01(0.3 + (BAND_MAX_SHARE_OF_NYQUIST * nyquist - cutoff) / 3500.0)
    return [Problem("band_limit", start, end, severity, {"cutoff_hz": cutoff})]


def detect_dropouts(samples: np.ndarray, sample_rate: int) -> list[Problem]:
    """Runs of digital silence cut into audio: loud right before or right after, in a
    clip that is not gated to digital silence in its pauses (``GATED_ZERO_SHARE``)."""
    level = active_level_dbfs(samples, sample_rate)
    if level is None:
        return []
    zero = samples == 0.0
    if zero.mean() > GATED_ZERO_SHARE:
        return []
    silent = _runs(zero)
    lengths = silent[:, 1] - silent[:, 0]
    silent = silent[(lengths >= DROPOUT_MIN_SECONDS * sample_rate)
                    & (lengths <= DROPOUT_MAX_SECONDS * sample_rate)
                    & (silent[:, 0] > 0) & (silent[:, 1] < samples.size)]
    edge = int(0.01 * sample_rate)
    spans = []
    for a, b in silent:
        before = samples[max(0, a - edge):a].astype(np.float64)
        after = samples[b:b + edge].astype(np.float64)
        loud = [10 * np.log10(np.mean(part ** 2) + 1e-12) > level - 30 for part in (before, after)]
        if any(loud):
            spans.append((float(a / sample_rate), float(b / sample_rate)))
    return [Problem("dropouts", start, end, _clamp01(0.5 + 0.1 * count + (end - start) / 0.2),
                    {"count": count})
            for start, end, count in _group(spans, gap=0.3)]


def estimate_rt60(samples: np.ndarray, sample_rate: int) -> float | None:
    """RT60 from the fastest level decays after speech offsets.

    A room cannot make sound die away faster than its own decay (60 dB per RT60), so the
    steepest 100 ms falls of the frame level bound it; dry speech falls far faster. Only
    falls that start 25 dB over the noise floor count, so noise does not pass for a
    tail; None when there are fewer than 5 such falls."""
    levels = _frame_levels(samples, sample_rate)
    levels = levels[: max(1, int(samples.size / sample_rate / HOP_SECONDS) - 1)]
    window = int(round(0.1 / HOP_SECONDS))
    if levels.size <= window + 1:
        return None
    floor = float(np.percentile(levels, 10))
    falls = levels[window:] - levels[:-window]
    steps = np.lib.stride_tricks.sliding_window_view(np.diff(levels), window)
    decreasing = np.all(steps <= 1.0, axis=1)[: falls.size]
    usable = decreasing & (levels[:-window] > floor + 15.0) & (levels[:-window] > levels.max() - 40)
    if usable.sum() < 5:
        return None
    steepest = float(np.percentile(falls[usable], 5))  # dB per 100 ms, negative
    if steepest >= -1.0:
        return None
    return float(-60.0 / (steepest / 0.1))


def detect_reverberation(samples: np.ndarray, sample_rate: int) -> list[Problem]:
    """Not judged under strong noise: a noise floor within 15 dB of the speech cuts
    every fall short, and any take would look reverberant (the noise is reported)."""
    snr = estimate_snr_db(samples, sample_rate)
    if snr is not None and snr < REVERB_MIN_SNR_DB:
        return []
    rt60 = estimate_rt60(samples, sample_rate)
    if rt60 is None or rt60 <= REVERB_RT60_SECONDS:
        return []
    start, end = _speech_span(samples, sample_rate)
    return [Problem("reverberation", start, end,
                    _clamp01(0.3 + (rt60 - REVERB_RT60_SECONDS) / 0.6), {"rt60_s": rt60})]


DETECTORS = (detect_clipping, detect_level, detect_noise, detect_band_limit, detect_dropouts,
             detect_reverberation)


def diagnose(samples: np.ndarray, sample_rate: int) -> list[Problem]:
    """Every detector's problems, sorted by start then kind. Empty for clips under 0.1 s
    or digital silence."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if samples.size < 0.1 * sample_rate or not np.isfinite(samples).all() or not samples.any():
        return []
    token = _ONE_CLIP.set({})
    try:
        problems = [problem for detector in DETECTORS for problem in detector(samples, sample_rate)]
    finally:
        _ONE_CLIP.reset(token)
    return sorted(problems, key=lambda problem: (problem.start, problem.kind))
