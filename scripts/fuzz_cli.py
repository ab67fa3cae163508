"""Fuzz the real ``emotrack`` commands with bad input of every family (issue 14).

    PYTHONPATH=app nice -n 10 python scripts/fuzz_cli.py --inputs 10000 [--seed 0]
        [--families wav-header,tiny-clip] [--time-limit 20] [--memory-limit 2] [--out runs/fuzz_cli]

Each input is one command line (``classify``, ``analyze``, ``quality``, ``enhance``,
``export`` or a mistyped one) run through ``emotrack.cli.main.main(argv)`` inside a
worker process that loads the models once and runs many inputs, with stdout and stderr
captured at the file-descriptor level (what decoders print counts), a per-input alarm
(``--time-limit`` s) and an address-space limit (``--memory-limit`` GB above the warm
worker). The parent watches each worker: a worker that dies or stops answering is a
crash or hang of the input it was running, and a fresh worker takes the rest.

A failure is any of: a Python traceback on stderr; stderr that is not the promise (on
exit 2: ``emotrack: warning:`` lines and exactly one ``emotrack: error: ...`` line; on
exit 0: only warnings and the ``wrote ...`` note); an exit code other than 0 or 2 (3 is
a bug the guard caught); a timeout; memory over the limit; NaN/Infinity in JSON on
stdout or in a written JSON/project file; an existing file at ``-o`` that changed (or a
temp file left beside it) when the command failed; a message over 300 characters
(paths aside). Failing inputs are kept under ``--out``. Prints a table of family,
inputs tried, outcome and failures by kind; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import random
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATES = [8000, 11025, 16000, 22050, 44100, 48000]
FAST = ["--model", "fast"]
# classify's note on how a batch of several lines was grouped: information, not an error.
VOICE_SUMMARY = re.compile(r"emotrack: \d+ lines in \d+ voices?; each line is read relative")


# ----------------------------------------------------------------------------- audio bytes

def speechish(rng: random.Random, n: int, rate: int = 16000):
    import numpy as np

    t = np.arange(n) / rate
    f0 = rng.uniform(90, 260)
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 6) * t)
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)) * envelope
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 0.02, n)
    return (0.25 * x + noise).astype(np.float32)


def wav_bytes(samples, rate: int, channels: int = 1, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    data = samples if channels == 1 else samples.reshape(-1, 1).repeat(channels, axis=1)
    sf.write(buf, data, rate, subtype=subtype, format=fmt)
    return buf.getvalue()


def encoded(kind: str, seconds: float = 0.6, rate: int = 16000) -> bytes:
    """A valid file of ``kind`` (mp3, ogg, opus, flac, m4a) holding a short voice-like clip."""
    import numpy as np

    x = speechish(random.Random(kind), int(seconds * rate), rate)
    if kind in ("mp3", "ogg", "flac", "opus"):
        import soundfile as sf

        buf = io.BytesIO()
        fmt, sub, r = {"mp3": ("MP3", "MPEG_LAYER_III", rate), "ogg": ("OGG", "VORBIS", rate),
                       "flac": ("FLAC", "PCM_16", rate), "opus": ("OGG", "OPUS", 48000)}[kind]
        if r != rate:
            import soxr
            x = soxr.resample(x, rate, r).astype(np.float32)
        sf.write(buf, x, r, format=fmt, subtype=sub)
        return buf.getvalue()
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def lying_wav(rng: random.Random) -> bytes:
    """A hand-built RIFF/WAVE whose header lies in one to three ways."""
    tag = rng.choice([1, 1, 3, 0xFFFE, 0xFFFE, 0, 2, 6, 7, 0x11, 0x55, 0x1234, 0xFFFF])
    bits = rng.choice([16, 16, 0, 1, 7, 8, 12, 24, 32, 64, 128, 255, 65535])
    channels = rng.choice([1, 1, 2, 0, 3, 7, 64, 65, 255, 1000, 65535])
    rate = rng.choice([16000, 44100, 0, 1, 7, 999, 1000, 384000, 384001, 10_000_000, 2**31 - 1, 2**32 - 1])
    lies = rng.sample(["tag", "bits", "channels", "rate", "blockalign", "datasize", "riffsize", "extensible",
                       "nodata", "fmtsize", "twodata", "junk"], rng.randint(1, 3))
    good = {"tag": 1, "bits": 16, "channels": 1, "rate": 16000}
    if "tag" not in lies: tag = good["tag"] if "extensible" not in lies else 0xFFFE
    if "bits" not in lies: bits = good["bits"]
    if "channels" not in lies: channels = good["channels"]
    if "rate" not in lies: rate = good["rate"]
    n_bytes = rng.choice([0, 1, 2, 3, 31, 320, 3200, 8000, 32000])
    payload = bytes(rng.getrandbits(8) for _ in range(min(n_bytes, 64))) * (n_bytes // 64 + 1)
    payload = payload[:n_bytes]
    if rng.random() < 0.5 and n_bytes >= 3200:  # plausible audio rather than noise
        import numpy as np
        payload = (speechish(rng, n_bytes // 2) * 20000).astype("<i2").tobytes()
    block = max(1, channels * max(bits, 8) // 8) & 0xFFFF
    if "blockalign" in lies:
        block = rng.choice([0, 1, 3, 65535])
    fmt = struct.pack("<HHIIHH", tag & 0xFFFF, channels & 0xFFFF, rate & 0xFFFFFFFF,
                      (rate * block) & 0xFFFFFFFF, block, bits & 0xFFFF)
    if tag == 0xFFFE or "extensible" in lies:
        cut = rng.choice([0, 2, 4, 10, 22, 22, 22])
        ext = struct.pack("<HHI", 22, bits & 0xFFFF, 4) + struct.pack("<H", rng.choice([1, 3, 0, 0x55])) + \
            b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += ext[:cut] if cut < 22 else ext
    fmt_size = len(fmt) if "fmtsize" not in lies else rng.choice([0, 2, 14, 40, 0xFFFFFFFF])
    data_size = len(payload) if "datasize" not in lies else rng.choice([0, 1, 7, 0x7FFFFFFF, 0xFFFFFFFF,
                                                                         len(payload) * 1000])
    body = b"WAVE" + b"fmt " + struct.pack("<I", fmt_size) + fmt
    if "junk" in lies:
        body += b"JUNK" + struct.pack("<I", rng.choice([4, 0xFFFFFFF0])) + b"\x00" * 4
    if "nodata" not in lies:
        body += b"data" + struct.pack("<I", data_size) + payload
        if "twodata" in lies:
            body += b"data" + struct.pack("<I", 0xFFFFFFFF) + payload[:100]
    riff = len(body) if "riffsize" not in lies else rng.choice([0, 4, 0xFFFFFFFF])
    return b"RIFF" + struct.pack("<I", riff) + body


def mutate_bytes(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    how = rng.choice(["flip", "flip", "truncate", "insert", "zero", "header", "duplicate"])
    if how == "flip":
        for _ in range(rng.randint(1, 40)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif how == "truncate":
        data = data[: rng.randrange(1, len(data))]
    elif how == "insert":
        at = rng.randrange(len(data))
        data[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
    elif how == "zero":
        at = rng.randrange(len(data))
        data[at: at + rng.randint(1, 2000)] = b"\x00" * len(data[at: at + 2000])
    elif how == "header":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(min(len(data), 128))] = rng.getrandbits(8)
    else:
        at = rng.randrange(len(data))
        data = data[:at] + data[at // 2:]
    return bytes(data)


# ----------------------------------------------------------------------------- families
# Each family returns a case: {"argv": [...], "files": {name: bytes}, "special": [...],
# "plant": name-or-None}. Names are relative to the case's scratch folder, and "{d}" in
# argv is replaced by that folder.

def audio_command(rng: random.Random, name: str, default_model_share: float = 0.03) -> tuple[list[str], str | None]:
    """A command that reads the audio file ``name``; returns (argv, planted output)."""
    r = rng.random()
    model = [] if rng.random() < default_model_share else FAST
    if r < 0.45:
        return ["classify", *model, f"{{d}}/{name}"], None
    if r < 0.7:
        return ["analyze", *model, "-q", f"{{d}}/{name}", "-o", "{d}/out.emotrack"], "out.emotrack"
    if r < 0.87:
        return ["quality", f"{{d}}/{name}"], None
    return ["enhance", f"{{d}}/{name}", "-o", "{d}/out.wav"], "out.wav"


def fam_wav_header(rng):
    argv, plant = audio_command(rng, "in.wav")
    return {"argv": argv, "files": {"in.wav": lying_wav(rng)}, "plant": plant}


def fam_tiny_clip(rng):
    import numpy as np

    n = rng.choice([1, 2, 3, 10, 100, 399, 400, rng.randint(1, 400), 1599, 1600, 1601, 4000])
    rate = rng.choice(RATES + [1000, 384000])
    fmt, ext, sub = rng.choice([("WAV", "wav", "PCM_16"), ("WAV", "wav", "FLOAT"), ("FLAC", "flac", "PCM_16"),
                                ("AIFF", "aiff", "PCM_16"), ("WAV", "wav", "PCM_U8")])
    x = speechish(rng, n, 16000)
    if rng.random() < 0.2:
        x = np.zeros(n, np.float32)
    channels = rng.choice([1, 1, 2, 6])
    raw = wav_bytes(x, rate, channels, sub, fmt)
    argv, plant = audio_command(rng, f"in.{ext}")
    return {"argv": argv, "files": {f"in.{ext}": raw}, "plant": plant}


def fam_extreme_values(rng):
    import numpy as np

    n = rng.choice([1600, 4000, 8000])
    x = speechish(rng, n).astype(np.float64)
    special = [3e38, -3e38, 1e30, 1e3, 999.0, 1001.0, np.nan, np.inf, -np.inf, 1e-40, 5e-324, 1e-310, 1.5, 0.0]
    kind = rng.choice(["sprinkle", "all", "denormal", "scale"])
    value = rng.choice(special)
    if kind == "sprinkle":
        idx = [rng.randrange(n) for _ in range(rng.randint(1, 50))]
        x[idx] = value
    elif kind == "all":
        x[:] = value
    elif kind == "denormal":
        x = x * rng.choice([1e-40, 1e-310, 1e-45])
    else:
        x = x * rng.choice([1e3, 4e3, 1e37, 1e300])
    sub = rng.choice(["FLOAT", "DOUBLE"])
    if sub == "FLOAT":
        with np.errstate(over="ignore"):
            x = x.astype(np.float32)
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, x, 16000, subtype=sub, format="WAV")
    argv, plant = audio_command(rng, "in.wav")
    return {"argv": argv, "files": {"in.wav": buf.getvalue()}, "plant": plant}


_ENCODED: dict[str, bytes] = {}


def fam_corrupt_compressed(rng):
    kind = rng.choice(["mp3", "ogg", "opus", "flac", "m4a"])
    if kind not in _ENCODED:
        _ENCODED[kind] = encoded(kind)
    raw = _ENCODED[kind]
    for _ in range(rng.randint(1, 2)):
        raw = mutate_bytes(raw, rng)
    name = f"in.{kind}" if rng.random() < 0.8 else rng.choice(["in.wav", "in.bin", "in"])
    argv, plant = audio_command(rng, name)
    return {"argv": argv, "files": {name: raw}, "plant": plant}


def fam_non_audio(rng):
    choices = [
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 5000))),
        lambda: b"hello world\n" * rng.randint(1, 100),
        lambda: b"\xef\xbb\xbf" + b"RIFF....WAVE" * rng.randint(0, 3),
        lambda: json.dumps({"format": "emotrack-project", "version": 1}).encode(),
        lambda: b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(300)),
        lambda: b"PK\x03\x04" + bytes(rng.getrandbits(8) for _ in range(300)),
        lambda: Path("/bin/ls").read_bytes()[: rng.randint(1, 20000)],
        lambda: b"ID3" + bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 800))),
        lambda: b"OggS" + bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 800))),
        lambda: b"fLaC" + bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 800))),
        lambda: b"\x00\x00\x00\x20ftypM4A " + bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 800))),
        lambda: b"\xff\xfb" * rng.randint(1, 3000),
        lambda: b"\x00" * rng.randint(1, 100000),
        lambda: "é\u2028\ud7ff".encode("utf-8") * 50,
    ]
    raw = rng.choice(choices)()
    name = "in." + rng.choice(["wav", "mp3", "flac", "ogg", "m4a", "txt", "emotrack", "aac", "opus"])
    argv, plant = audio_command(rng, name)
    return {"argv": argv, "files": {name: raw}, "plant": plant}


def fam_special_files(rng):
    kind = rng.choice(["fifo", "devnull", "devzero", "urandom", "folder", "loop", "broken", "dirwav",
                       "fifo-project", "devzero-project", "loop-project", "proc"])
    special = {"fifo": ["fifo:in.wav"], "devnull": ["link:in.wav:/dev/null"], "devzero": ["link:in.wav:/dev/zero"],
               "urandom": ["link:in.wav:/dev/urandom"], "folder": ["dir:in.wav"],
               "loop": ["link:in.wav:in.wav"], "broken": ["link:in.wav:nowhere.wav"], "dirwav": ["dir:in.wav"],
               "fifo-project": ["fifo:in.emotrack"], "devzero-project": ["link:in.emotrack:/dev/zero"],
               "loop-project": ["link:in.emotrack:in.emotrack"], "proc": ["link:in.wav:/proc/self/status"]}[kind]
    if kind.endswith("project"):
        fmt = rng.choice(["csv", "json", "keyframes"])
        argv, plant = ["export", "{d}/in.emotrack", "--format", fmt, "-o", "{d}/out.csv"], "out.csv"
    else:
        argv, plant = audio_command(rng, "in.wav")
        if rng.random() < 0.3:  # /dev files named directly
            argv = [a.replace("{d}/in.wav", rng.choice(["/dev/null", "/dev/zero", "/dev/stdin"])) for a in argv]
    return {"argv": argv, "files": {}, "special": special, "plant": plant}


def fam_paths(rng):
    import numpy as np

    clip = wav_bytes(speechish(rng, 4000), 16000)
    out = rng.choice([
        "{d}", "{d}/", ".", "", " ", "{d}/file.txt/out.x", "{d}/" + "a" * 300 + ".csv", "{d}/" + "b" * 5000,
        "{d}/no/such/folder/out.x", "/proc/out.x", "/sys/out.x", "/dev/full", "{d}/link-loop",
        "{d}/dangling", "{d}/link-to-planted", "{d}/out\nnewline.x", "{d}/in.wav", "{d}/sub/..",
        "{d}/ro/out.x", "{d}/out.x", "-", "{d}/" + "é" * 120 + ".x", "{d}/.hidden.x",
    ])
    command = rng.choice(["analyze", "export", "export", "enhance", "export-json", "export-keyframes"])
    ext = {"analyze": ".emotrack", "export": ".csv", "enhance": ".wav", "export-json": ".json",
           "export-keyframes": ".json"}[command]
    out = out.replace(".x", ext)
    files = {"in.wav": clip, "file.txt": b"x", "planted": b"precious\n"}
    special = ["link:link-loop:link-loop", "link:dangling:gone/nothing", "link:link-to-planted:planted", "dir:sub"]
    if command == "analyze":
        argv = ["analyze", *FAST, "-q", "{d}/in.wav", "-o", out]
    elif command == "enhance":
        argv = ["enhance", "{d}/in.wav", "-o", out]
    else:
        files["in.emotrack"] = "@project"
        fmt = {"export": "csv", "export-json": "json", "export-keyframes": "keyframes"}[command]
        argv = ["export", "{d}/in.emotrack", "--format", fmt, "-o", out]
    plant = out[4:] if out.startswith("{d}/") and "\n" not in out and len(out) < 250 and "/" not in out[4:] \
        and out[4:] not in ("in.wav", "link-loop", "dangling", "link-to-planted", "") else None
    return {"argv": argv, "files": files, "special": special, "plant": plant, "check_planted": "planted"}


_PROJECT_TEXT: list[str] = []


def fam_project(rng):
    import numpy as np

    sys.path.insert(0, str(HERE))
    import fuzz_project_file as fpf

    if not _PROJECT_TEXT:
        with tempfile.TemporaryDirectory() as folder:
            _PROJECT_TEXT.append(fpf.valid_project_text(Path(folder)))
    text = _PROJECT_TEXT[0]
    mutate = rng.choice(list(fpf.FAMILIES.values()) + [_huge_project_values])
    content = mutate(text, np.random.default_rng(rng.randrange(1 << 30)))
    fmt = rng.choice(["csv", "csv", "json", "keyframes"])
    out = {"csv": "out.csv", "json": "out.json", "keyframes": "out.keyframes.json"}[fmt]
    argv = ["export", "{d}/in.emotrack", "--format", fmt, "-o", f"{{d}}/{out}"]
    if rng.random() < 0.2:
        argv += ["--fps", rng.choice(["24", "25", "30", "50", "60"])]
    return {"argv": argv, "files": {"in.emotrack": content}, "plant": out}


def _huge_project_values(text: str, rng) -> bytes:
    """Keyframe times, durations and counts a pathological editor could write."""
    data = json.loads(text)
    what = int(rng.integers(6))
    if what == 0:
        data["duration"] = float(rng.choice([1e6, 86_399.0, 86_400.0, 86_401.0, 1e-9, 0.0]))
    elif what == 1 and data.get("keyframes"):
        data["keyframes"][0]["time"] = float(rng.choice([1e6, 86_399.0, 3.05, 3.2, -0.0, 1e-300]))
    elif what == 2 and data.get("keyframes"):
        k = data["keyframes"][0]
        data["keyframes"] = [dict(k, time=round(i * 3.0 / 5000, 6)) for i in range(5000)]
    elif what == 3 and data.get("keyframes"):
        for k in data["keyframes"]:
            k["values"] = {name: float(rng.choice([1000.0, 0.0, 1.0000001, -1e-9, 5e-324])) for name in k["values"]}
    elif what == 4:
        data = {"format": "emotrack-project", "version": 1, "x": [[[[[[[[[[]]]]]]]]]] * 3}
    else:
        return b"[" * 10_000 + b"]" * 10_000
    return json.dumps(data).encode()


def fam_cli_args(rng):
    clip = wav_bytes(speechish(rng, rng.choice([1600, 8000, 16000])), 16000)
    odd_int = ["0", "-1", "1", "2", "3", "99999999", "-99999999", "nan", "1e9", "", "  5", "0x10", "٣", "10" * 30]
    odd_float = ["0", "-0", "-1", "nan", "NaN", "inf", "-inf", "1e308", "1e-320", "1e-9", "2", "0.5", "", "x"]
    options = {
        "--window": odd_int + ["400", "16000", "160000000"], "--hop": odd_int + ["100", "7200"],
        "--interval": odd_float + ["1e-6", "1e9"], "--switch-margin": odd_float, "--switch-windows": odd_int,
        "--min-pause": odd_float, "--batch-size": odd_int, "--smoothing": odd_int + ["10", "11"],
        "--strength": ["anger=nan", "anger=inf", "joy=-1", "joy=2", "x=1", "anger", "=", "anger=1e308"],
        "--prior": ["joy", "anger", "rage", ""], "--prior-strength": odd_float,
        "--max-emotions": odd_int + ["6", "7"], "--contrast": odd_float + ["1e30", "100"],
        "--threshold": odd_float + ["0.99", "1"], "--channel": odd_int, "--raw-rate": odd_int + ["16000"],
        "--raw-channels": odd_int, "--raw-type": ["s16", "f64", "u9"], "--raw-endian": ["big", "middle"],
        "--fps": ["0", "-30", "30", "29.97", "1e9", "nan", "24"], "--quality-threshold": odd_float,
        "--device": ["cpu", "cuda", "cuda:99", "tpu", "", "cpu:0"], "--model": ["fast", "nonexistent", "", "{d}"],
        "--anchor": ["start", "nowhere"], "--mode": ["gain", "loud"], "--format": ["csv", "mp4", ""],
    }
    command = rng.choice(["classify", "analyze", "analyse", "quality", "enhance", "export", "analyse",
                          "clasify", "qualty", "exprot", "train", "help", "--help", "-h", "--version", "-x",
                          "foo.wav", "", "--", "--debug"])
    argv = [command]
    if command in ("classify", "analyze", "analyse", "quality", "enhance"):
        argv.append("{d}/in.wav")
    elif command == "export":
        argv.append("{d}/in.emotrack")
    if command in ("analyze", "analyse", "enhance", "export"):
        argv += ["-o", "{d}/out" + {"enhance": ".wav", "export": ".csv"}.get(command, ".emotrack")]
    if command in ("classify", "analyze", "analyse") and "--model" not in argv:
        argv += FAST
    for _ in range(rng.randint(0, 3)):
        name = rng.choice(list(options) + ["--bogus", "-z"])
        argv += [name] + ([rng.choice(options[name])] if name in options else [])
    if command in ("analyze", "analyse"):
        argv.append("-q")
    if rng.random() < 0.1:
        argv.insert(rng.randrange(len(argv) + 1), rng.choice(["--", "--debug", "-", "extra.wav"]))
    plant = None
    if "-o" in argv:
        plant = argv[argv.index("-o") + 1][4:]
    return {"argv": argv, "files": {"in.wav": clip, "in.emotrack": "@project"}, "plant": plant}


def fam_raw_pcm(rng):
    """Headerless input read with --raw-* options that may not fit it."""
    n = rng.choice([1, 2, 3, 7, 3200, 3201, 32000, 64001])
    if rng.random() < 0.5:
        raw = bytes(rng.getrandbits(8) for _ in range(min(n, 256))) * (n // 256 + 1)
        raw = raw[:n]
    else:
        import numpy as np
        raw = (speechish(rng, max(n // 2, 1)) * 20000).astype("<i2").tobytes()
    argv = ["classify", *FAST, "{d}/in.raw", "--raw-rate", rng.choice(["16000", "8000", "44100", "1000", "384000"]),
            "--raw-channels", rng.choice(["1", "2", "3", "64"]),
            "--raw-type", rng.choice(["s8", "u8", "s16", "s24", "s32", "f32", "f64"]),
            "--raw-endian", rng.choice(["little", "big"])]
    if rng.random() < 0.3:
        argv += ["--channel", rng.choice(["0", "1", "5"])]
    if rng.random() < 0.3:
        argv[0:1] = ["analyze"]
        argv += ["-q", "-o", "{d}/out.emotrack"]
        return {"argv": argv, "files": {"in.raw": raw}, "plant": "out.emotrack"}
    return {"argv": argv, "files": {"in.raw": raw}, "plant": None}


def fam_multi_file(rng):
    """Several files in one classify/quality run, good and bad mixed."""
    files, names = {}, []
    for i in range(rng.randint(2, 4)):
        good = rng.random() < 0.5
        name = f"in{i}.wav"
        files[name] = wav_bytes(speechish(rng, 4000), 16000) if good else rng.choice(
            [lying_wav(rng), b"not audio", wav_bytes(speechish(rng, 10), 16000)])
        names.append(f"{{d}}/{name}")
    if rng.random() < 0.2:
        names.append("{d}/missing.wav")
    command = rng.choice([["classify", *FAST], ["quality"]])
    return {"argv": [*command, *names], "files": files, "plant": None}


def fam_face_project(rng):
    """Mutated projects (with their audio beside them) exported as the talking face."""
    case = fam_project(rng)
    fmt = rng.choice(["arkit-csv", "arkit-json", "glb", "pc2", "mouth-cues"])
    out = {"arkit-csv": "out.arkit.csv", "arkit-json": "out.arkit.json", "glb": "out.glb", "pc2": "out.pc2",
           "mouth-cues": "out.mouth.tsv"}[fmt]
    case["argv"] = ["export", "{d}/in.emotrack", "--format", fmt, "-o", f"{{d}}/{out}", "--device", "cpu"]
    case["files"]["voice.wav"] = "@voice"
    case["plant"] = out
    return case


def _character_files() -> dict[str, bytes]:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from character_files import write_character_glb, write_character_obj

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write_character_glb(folder / "head.glb")
        obj = write_character_obj(folder)
        files = {"head.glb": (folder / "head.glb").read_bytes()}
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix == ".obj":
                files[str(path.relative_to(folder))] = path.read_bytes()
        files["obj_main"] = str(obj.relative_to(folder)).encode()
    return files


_CHARACTER: dict[str, bytes] = {}


def fam_character(rng):
    """export --character with a damaged glb/gltf/obj, its shapes folder or its name map."""
    if not _CHARACTER:
        _CHARACTER.update(_character_files())
    files = {k: v for k, v in _CHARACTER.items() if k != "obj_main"}
    main_obj = _CHARACTER["obj_main"].decode()
    kind = rng.choice(["glb", "glb", "gltf-json", "obj", "obj-shape", "map", "shapes-dir"])
    argv_extra = []
    if kind == "glb":
        files["head.glb"] = mutate_bytes(files["head.glb"], rng)
        character = "head.glb"
    elif kind == "gltf-json":
        raw = files["head.glb"]
        length = struct.unpack("<I", raw[12:16])[0]
        doc = raw[20:20 + length]
        files["head.gltf"] = mutate_bytes(doc, rng) if rng.random() < 0.7 else doc
        character = "head.gltf"
    elif kind == "obj":
        files[main_obj] = mutate_bytes(files[main_obj], rng)
        character = main_obj
    elif kind == "obj-shape":
        shapes = [k for k in files if k.endswith(".obj") and k != main_obj]
        victim = rng.choice(shapes)
        files[victim] = mutate_bytes(files[victim], rng)
        character = main_obj
    elif kind == "map":
        files["map.json"] = rng.choice([b"{", b"[]", b'{"Jaw_Open": "notAShape"}', b'{"Jaw_Open": 3}',
                                        b'{"x": "jawOpen"}' * 2, b"\xef\xbb\xbf{}", b'{"Jaw_Open": "jawOpen"}'])
        argv_extra = ["--character-map", "{d}/map.json"]
        character = rng.choice(["head.glb", main_obj])
    else:
        argv_extra = ["--character-shapes", rng.choice(["{d}/nowhere", "{d}/head.glb", "{d}"])]
        character = main_obj
    files["in.emotrack"] = "@project"
    files["voice.wav"] = "@voice"
    fmt = rng.choice(["glb", "pc2"])
    argv = ["export", "{d}/in.emotrack", "--format", fmt, "--character", f"{{d}}/{character}", *argv_extra,
            "-o", f"{{d}}/out.{fmt}", "--device", "cpu"]
    return {"argv": argv, "files": files, "plant": f"out.{fmt}"}


FAMILIES = {
    "wav-header": fam_wav_header,
    "tiny-clip": fam_tiny_clip,
    "extreme-values": fam_extreme_values,
    "corrupt-compressed": fam_corrupt_compressed,
    "non-audio": fam_non_audio,
    "special-files": fam_special_files,
    "paths": fam_paths,
    "project": fam_project,
    "cli-args": fam_cli_args,
    "raw-pcm": fam_raw_pcm,
    "multi-file": fam_multi_file,
    "face-project": fam_face_project,
    "character": fam_character,
}
# Relative weights: families whose inputs are slow (a model runs on them) get fewer.
WEIGHTS = {"wav-header": 1.3, "tiny-clip": 1.0, "extreme-values": 1.0, "corrupt-compressed": 1.3,
           "non-audio": 1.0, "special-files": 0.6, "paths": 1.0, "project": 1.6, "cli-args": 1.0,
           "raw-pcm": 0.6, "multi-file": 0.5, "face-project": 0.6, "character": 0.6}


# ----------------------------------------------------------------------------- worker

class FuzzTimeout(BaseException):
    """Raised by the per-input alarm; a BaseException so the CLI's guard does not catch it."""


def _materialise(case: dict, folder: Path, project_text: str) -> str | None:
    """Write the case's files under ``folder``; returns the planted file's hash."""
    if folder.exists():
        for p in folder.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in case.get("files", {}).items():
        if content == "@project":
            content = project_text.encode()
        elif content == "@voice":
            content = (folder.parent / "voice.wav").read_bytes()
        elif isinstance(content, str):
            content = bytes.fromhex(content)
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    for item in case.get("special", []):
        kind, _, rest = item.partition(":")
        if kind == "fifo":
            os.mkfifo(folder / rest)
        elif kind == "dir":
            (folder / rest).mkdir(exist_ok=True)
        elif kind == "link":
            name, target = rest.split(":", 1)
            os.symlink(target, folder / name)
    plant = case.get("plant")
    if plant:
        path = folder / plant
        if not path.exists() and not path.is_symlink():
            path.write_bytes(b"an existing file that must survive a failed command\n")
            return hashlib.sha256(path.read_bytes()).hexdigest()
    return None


def _strict_json(text: str) -> str | None:
    """None if ``text`` is strict JSON (no NaN/Infinity), else the problem."""
    def refuse(token):
        raise ValueError(f"non-finite {token}")
    try:
        json.loads(text, parse_constant=refuse)
    except ValueError as error:
        return str(error)[:80]
    return None


_ALLOWED_SUCCESS = ("emotrack: warning: ", "wrote ", "character ", "emotrack ")


def judge(case: dict, folder: Path, rc, out: str, err: str, planted_hash: str | None, elapsed: float) -> list[str]:
    """The failure kinds of one finished input (empty: it behaved)."""
    kinds = []
    if "Traceback (most recent call last)" in err:
        kinds.append("traceback")
    if rc == 3:
        kinds.append("internal error (exit 3)" if "MemoryError" not in err else "memory")
    elif rc not in (0, 2):
        kinds.append(f"exit {rc}")
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("emotrack: error: ")]
    others = [line for line in lines if not line.startswith(("emotrack: error: ", "emotrack: warning: "))
              and not VOICE_SUMMARY.match(line)]
    # classify and quality report each bad file of several on its own line (one per problem).
    allowed = 1
    if case["argv"] and case["argv"][0] in ("classify", "quality"):
        allowed = max(1, len(case["argv"]) - 1)  # files may follow "--" and look like options
    if rc == 2:
        if not 1 <= len(errors) <= allowed or others:
            kinds.append("stderr not one error line")
    elif rc == 0:
        # --help/--version print to stdout; a --character export prints its retarget report.
        help_like = case["argv"] and case["argv"][0] in ("--help", "-h", "--version") or "--character" in case["argv"]
        chatter = [line for line in lines if not line.startswith(_ALLOWED_SUCCESS) and not VOICE_SUMMARY.match(line)]
        if errors or (chatter and not help_like):
            kinds.append("stderr chatter on success")
    for line in errors:
        message = line[len("emotrack: error: "):]
        for arg in case["argv"]:
            if len(arg) > 20:
                message = message.replace(arg, "<arg>")
                message = message.replace(Path(arg).name, "<name>")
        if len(message) > 300:
            kinds.append("message over 300 characters")
    if case["argv"] and case["argv"][0] in ("classify", "quality") and "--help" not in case["argv"] and out.strip():
        for line in out.strip().splitlines():
            if _strict_json(line):
                kinds.append("non-strict JSON on stdout")
                break
    if rc == 0 and "-o" in case["argv"]:
        target = case["argv"][case["argv"].index("-o") + 1]
        path = Path(target)
        if path.suffix in (".json", ".emotrack") and path.is_file() and path.stat().st_size < 50_000_000:
            problem = _strict_json(path.read_text(errors="replace"))
            if problem:
                kinds.append("non-strict JSON in the output file")
    if rc != 0:
        plant = case.get("plant")
        if plant and planted_hash is not None:
            path = folder / plant
            now = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            if now != planted_hash:
                kinds.append("existing file changed on failure")
        check = case.get("check_planted")
        if check and (folder / check).is_file() and (folder / check).read_bytes() != b"precious\n":
            kinds.append("existing file changed on failure")
        if any(p.name.endswith(".tmp") and p.name.startswith(".") for p in folder.iterdir()):
            kinds.append("temp file left behind")
    return kinds


def _run_captured(argv: list[str], time_limit: float):
    """main(argv) with fds 1 and 2 captured; (rc, stdout, stderr)."""
    from emotrack.cli.main import main

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        signal.setitimer(signal.ITIMER_REAL, time_limit)
        try:
            try:
                rc = main(argv)
            except SystemExit as exit_:  # argparse --help/--version
                rc = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
            except FuzzTimeout:
                rc = "timeout"
            except MemoryError:
                rc = "memory"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except Exception:  # noqa: BLE001
                pass
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        err.seek(0)
        return rc, out.read(1 << 20).decode("utf-8", "replace"), err.read(1 << 20).decode("utf-8", "replace")


def worker(args) -> int:
    """Read cases (JSON lines) from --cases; answer on fd 3: "start I" then a result line."""
    import resource

    import torch

    torch.set_num_threads(1)
    channel = os.fdopen(args.channel_fd, "w", buffering=1)
    os.environ["EMOTRACK_LOG_DIR"] = str(Path(args.scratch) / "logs")

    def on_alarm(signum, frame):
        raise FuzzTimeout

    signal.signal(signal.SIGALRM, on_alarm)
    scratch = Path(args.scratch)
    project_text = (scratch / "valid.emotrack").read_text()
    warm = scratch / "warm.wav"
    # Load every model once (they are cached per process) so inputs pay only their run.
    for argv in (["classify", *FAST, str(warm)], ["classify", str(warm)], ["quality", str(warm)],
                 ["enhance", str(warm), "-o", str(scratch / "warm_out.wav")],
                 ["export", str(scratch / "valid.emotrack"), "--format", "glb", "--device", "cpu",
                  "-o", str(scratch / "warm.glb")]):
        _run_captured(argv, 300)
    vsize = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = vsize + int(args.memory_limit * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    import emotrack

    channel.write(f"ready\n")
    print(f"worker {os.getpid()} fuzzes {emotrack.__file__}", file=sys.stderr, flush=True)
    for line in open(args.cases):
        case = json.loads(line)
        channel.write(f"start {case['id']}\n")
        folder = scratch / f"w{os.getpid()}"
        planted = _materialise(case, folder, project_text)
        argv = [a.replace("{d}", str(folder)) for a in case["argv"]]
        case = dict(case, argv=argv)
        started = time.perf_counter()
        rc, out, err = _run_captured(argv, args.time_limit)
        elapsed = time.perf_counter() - started
        if rc in ("timeout", "memory"):
            kinds = ["timeout" if rc == "timeout" else "memory"]
        else:
            try:
                kinds = judge(case, folder, rc, out, err, planted, elapsed)
            except Exception as error:  # noqa: BLE001
                kinds = [f"judge failed: {type(error).__name__}"]
        channel.write(json.dumps({"id": case["id"], "rc": rc, "kinds": kinds, "err": err[-1500:],
                                  "out": out[:300], "s": round(elapsed, 3)}) + "\n")
    return 0


# ----------------------------------------------------------------------------- parent

def make_cases(families: list[str], total: int, seed: int) -> list[dict]:
    weights = [WEIGHTS[f] for f in families]
    counts = [int(total * w / sum(weights)) for w in weights]
    counts[0] += total - sum(counts)
    cases = []
    for family, count in zip(families, counts):
        for i in range(count):
            rng = random.Random(f"{seed}:{family}:{i}")
            case = FAMILIES[family](rng)
            case["id"] = f"{family}#{i}"
            case["family"] = family
            case["files"] = {k: (v if isinstance(v, str) else v.hex()) for k, v in case.get("files", {}).items()}
            cases.append(case)
    random.Random(seed).shuffle(cases)  # interleave families: a crash never stalls one family
    return cases


def prepare_scratch(scratch: Path) -> None:
    import soundfile as sf

    sys.path.insert(0, str(HERE))
    import fuzz_project_file as fpf

    (scratch / "valid.emotrack").write_text(fpf.valid_project_text(scratch))
    sf.write(scratch / "warm.wav", speechish(random.Random(1), 16000), 16000)
    sf.write(scratch / "voice.wav", speechish(random.Random(2), 3 * 16000), 16000)


def run_all(cases: list[dict], args, scratch: Path, report) -> None:
    pending = list(cases)
    # The worker runs in the scratch folder, so the path to the app is made absolute: it
    # fuzzes the tree this script lives in, whatever else is installed.
    paths = [str(HERE.parent / "app")] + [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(paths))
    worker_log = open(scratch / "worker.log", "a")
    while pending:
        read_fd, write_fd = os.pipe()
        current, batch = None, pending[: args.batch]
        cases_file = scratch / "batch.jsonl"
        cases_file.write_text("".join(json.dumps(case) + "\n" for case in batch))
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", "--scratch", str(scratch),
                                 "--cases", str(cases_file),
                                 "--time-limit", str(args.time_limit), "--memory-limit", str(args.memory_limit),
                                 "--channel-fd", str(write_fd)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=worker_log,
                                pass_fds=(write_fd,), env=env, text=True, cwd=scratch)  # '-o -' lands there
        os.close(write_fd)
        reader = os.fdopen(read_fd, "r")
        if _read_line(reader, 600) != "ready":
            proc.kill()
            raise SystemExit("the fuzz worker did not start:\n" + (scratch / "worker.log").read_text()[-3000:])
        done = 0
        for case in batch:
            line = _read_line(reader, args.time_limit * 3 + 10)
            if line is None or not line.startswith("start "):
                break
            current = case
            result = _read_line(reader, args.time_limit * 3 + 10)
            if result is None:
                break
            report(case, json.loads(result))
            done += 1
            current = None
        if current is not None or done < len(batch):
            victim = current or batch[done]
            alive = proc.poll() is None
            proc.kill()
            proc.wait()
            why = "hang (worker unresponsive)" if alive else (
                "memory" if proc.returncode in (-9,) else f"worker died (signal {-proc.returncode})"
                if proc.returncode < 0 else f"worker exited {proc.returncode}")
            report(victim, {"id": victim["id"], "rc": None, "kinds": [why], "err": "", "out": "", "s": None})
            done += 1
        else:
            proc.wait()
        reader.close()
        pending = pending[done:]


def _read_line(reader, timeout: float) -> str | None:
    ready, _, _ = select.select([reader], [], [], timeout)
    if not ready:
        return None
    line = reader.readline()
    return line.rstrip("\n") if line else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="inputs in all, shared by the families")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", default=",".join(FAMILIES), help=f"comma-separated: {', '.join(FAMILIES)}")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds one input may take")
    parser.add_argument("--memory-limit", type=float, default=2.0, help="GB one input may add to the warm worker")
    parser.add_argument("--batch", type=int, default=2000, help="inputs per worker process")
    parser.add_argument("--out", type=Path, default=Path("runs/fuzz_cli"), help="where failing inputs go")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    parser.add_argument("--cases", help=argparse.SUPPRESS)
    parser.add_argument("--channel-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    started = time.perf_counter()
    cases = make_cases(families, args.inputs, args.seed)
    print(f"{len(cases)} inputs generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    tried: Counter = Counter()
    outcome: dict[str, Counter] = defaultdict(Counter)
    failures: dict[str, Counter] = defaultdict(Counter)
    times: dict[str, float] = defaultdict(float)
    failed_cases = []

    def report(case, result):
        family = case["family"]
        tried[family] += 1
        rc = result["rc"]
        outcome[family]["ok" if rc == 0 else "refused" if rc == 2 else "other"] += 1
        times[family] += result["s"] or 0.0
        for kind in result["kinds"]:
            failures[family][kind] += 1
        if result["kinds"]:
            failed_cases.append((case, result))
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / (case["id"].replace("#", "-") + ".json")).write_text(json.dumps(
                {"case": case, "result": result}, indent=1))
            print(f"  FAIL {case['id']} {result['kinds']} argv={case['argv'][:6]} "
                  f"err={result['err'][-300:]!r}", file=sys.stderr)
        n = sum(tried.values())
        if n % 250 == 0:
            print(f"  ... {n}/{len(cases)} inputs, {len(failed_cases)} failing, "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="emotrack-fuzz-") as scratch:
        prepare_scratch(Path(scratch))
        run_all(cases, args, Path(scratch), report)
    total_failures = sum(sum(c.values()) for c in failures.values())
    print(f"\n{'family':<20} {'inputs':>7} {'ok':>6} {'refused':>8} {'s/input':>8}  failures by kind")
    for family in families:
        kinds = ", ".join(f"{k}: {v}" for k, v in failures[family].most_common()) or "0"
        per = times[family] / max(tried[family], 1)
        print(f"{family:<20} {tried[family]:>7} {outcome[family]['ok']:>6} {outcome[family]['refused']:>8} "
              f"{per:>8.3f}  {kinds}")
    elapsed = time.perf_counter() - started
    print(f"{'total':<20} {sum(tried.values()):>7}  failing inputs: {len(failed_cases)}, seed {args.seed}, "
          f"{elapsed:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"seed": args.seed, "inputs": dict(tried), "failures": {
            f: dict(c) for f, c in failures.items()}, "seconds": round(elapsed)}, indent=1))
    return 1 if failed_cases else 0


if __name__ == "__main__":
    sys.exit(main())
