"""Command-line options shared by several commands, and their conversion to settings."""

from __future__ import annotations

import argparse
import sys
import warnings

from ..core.emotions import EMOTIONS
from ..core.settings import AnalysisSettings, HeuristicSettings
from ..errors import ParameterError
from ..io.audio import RAW_SAMPLE_TYPES, RawFormat


def one_line(text: object) -> str:
    """``text`` as one terminal line: a newline or carriage return inside a path (legal on
    Linux) is shown escaped, so that every message stays the one line the README promises."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n")


def add_audio_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("audio input")
    group.add_argument("--channel", type=int, metavar="N",
                       help="analyse only channel N (0-based) instead of mixing all channels down")
    group.add_argument("--raw-rate", type=int, metavar="HZ",
                       help="read headerless raw PCM at this sample rate (needed for raw files)")
    group.add_argument("--raw-channels", type=int, default=1, metavar="N", help="raw PCM channels (default 1)")
    group.add_argument("--raw-type", default="s16", choices=sorted(RAW_SAMPLE_TYPES),
                       help="raw PCM sample type (default s16)")
    group.add_argument("--raw-endian", default="little", choices=("little", "big"))


def raw_format(args: argparse.Namespace) -> RawFormat | None:
    if args.raw_rate is None:
        return None
    return RawFormat(args.raw_rate, args.raw_channels, args.raw_type, args.raw_endian)


def readable_audio(args: argparse.Namespace, failed: dict[str, str], note: str = ""):
    """``(path, clip)`` of each file of ``args.audio`` that decodes, one at a time (a session
    of any size fits in memory); each other file's error goes to stderr (with ``note``)
    and into ``failed``."""
    from ..errors import EmotrackError
    from ..io.audio import load_audio

    for path in args.audio:
        try:
            clip = load_audio(path, channel=args.channel, raw=raw_format(args))
        except EmotrackError as error:
            print(f"emotrack: error: {one_line(error)}{note}", file=sys.stderr)
            failed[path] = str(error)
            continue
        yield path, clip


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--model", metavar="NAME|DIR",
                       help="'accurate' (bundled, Whisper base encoder; the default), 'fast' (bundled, the "
                            "same encoder's first two layers: ~2x faster, less accurate) or a local Hugging Face "
                            "audio-classification checkpoint folder (Whisper, wav2vec2, HuBERT, WavLM)")
    group.add_argument("--device", default="auto",
                       help="auto (CUDA if present, else CPU), cpu, cuda or cuda:N")


FOLDER_ACTOR = "folder"  # --actor folder: each file's own voice among the recordings in its folder


def add_actor_option(parser: argparse.ArgumentParser, folder: bool = True) -> None:
    """``--actor``; with ``folder``, also ``--actor folder``."""
    parser.add_argument(
        "--actor", metavar="ACTOR.json" + ("|folder" if folder else ""),
        help="read the voice relative to this actor (a reference from 'emotrack actor-reference' with the "
             "same model)" + ("; 'folder': relative to the lines in the file's folder that share its voice, as the "
                        "app's Make from This Voice's Lines in the Folder" if folder else ""))


class FolderVoices:
    """``--actor folder``: the reference of each file's own voice among the recordings in
    its folder, which are read by voice as ``classify`` reads a batch. Each folder is read
    once; what was found goes to stderr."""

    def __init__(self, model, args: argparse.Namespace, settings: AnalysisSettings) -> None:
        self.model, self.args, self.settings = model, args, settings
        self._folders: dict = {}

    def reference(self, path: str):
        from pathlib import Path

        from ..core.batch_plan import recordings_beside
        from ..ml.emotion.voices import read_by_voice, reference_for_line

        path = Path(path).resolve()
        if path.parent not in self._folders:
            paths = sorted(set(recordings_beside(path)) | {path})
            settings = self.settings
            # The other recordings' warnings (damaged, silent, no speech) are theirs, not this
            # file's: the command reads and warns about its own file itself.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._folders[path.parent] = read_by_voice(self.model, self._decoded(paths, path), settings.window,
                                                           settings.hop, settings.min_pause)
        reference, note = reference_for_line(self._folders[path.parent], str(path), path.parent.name)
        print(f"emotrack: {one_line(path.name)}: {one_line(note)}", file=sys.stderr)
        return reference

    def _decoded(self, paths, own):
        """``(path, samples)`` of each recording that decodes; another file's trouble is not
        this one's, but ``own``'s is."""
        from ..errors import EmotrackError
        from ..io.audio import load_audio

        for path in paths:
            try:
                yield str(path), load_audio(path, channel=self.args.channel, raw=raw_format(self.args)).samples
            except EmotrackError:
                if path == own:
                    raise


def actor_reference(model, args: argparse.Namespace):
    """The ``--actor`` reference (None without it), checked against ``model``."""
    if not getattr(args, "actor", None):
        return None
    from ..core.actor_reference import ActorReference

    reference = ActorReference.load(args.actor)
    model.with_actor(reference)  # refuses a reference made for another encoder, before any work
    return reference


def add_quality_flag_options(parser: argparse.ArgumentParser, flags: str) -> None:
    """``--quality`` and ``--quality-threshold`` of the analysing commands; ``flags`` says
    what a flagged stretch of audio does in that command."""
    parser.add_argument("--quality", action="store_true",
                        help=f"also score speech quality (VQScore) and {flags}")
    parser.add_argument("--quality-threshold", type=float, metavar="T",
                        help="frame score below which audio is flagged (default: the model's)")


def add_analysis_options(parser: argparse.ArgumentParser) -> None:
    d = AnalysisSettings()
    group = parser.add_argument_group("analysis (windows and keyframes)")
    group.add_argument("--window", type=int, default=d.window, metavar="SAMPLES",
                       help=f"window length at 16 kHz (default {d.window} = {d.window / 16000:g} s)")
    group.add_argument("--hop", type=int, default=d.hop, metavar="SAMPLES",
                       help=f"window step, between window/10 and window/2 (default {d.hop})")
    group.add_argument("--interval", type=float, default=d.keyframe_interval, metavar="SECONDS",
                       help=f"keyframe interval (default {d.keyframe_interval:g} s)")
    group.add_argument("--anchor", choices=("start", "middle", "end"), default=d.anchor,
                       help="where in its interval a keyframe is placed (default middle)")
    group.add_argument("--adaptive", action="store_true",
                       help="place keyframes at pauses and emotion changes instead of at a fixed interval")
    group.add_argument("--switch-margin", type=float, default=d.switch_margin, metavar="P",
                       help="adaptive: lead a rival emotion needs to start a new keyframe (default %(default)s)")
    group.add_argument("--switch-windows", type=int, default=d.switch_windows, metavar="N",
                       help="adaptive: ... for more than N consecutive windows (default %(default)s)")
    group.add_argument("--min-pause", type=float, default=d.min_pause, metavar="SECONDS",
                       help="shortest silence that counts as a pause (default %(default)s)")
    group.add_argument("--batch-size", type=int, default=d.batch_size, help=argparse.SUPPRESS)


def add_heuristic_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("heuristics (each is off unless given)")
    group.add_argument("--smoothing", type=int, metavar="N",
                       help="smooth non-neutral emotions over N neighbouring keyframes (2-10)")
    group.add_argument("--strength", action="append", default=[], metavar="EMOTION=S",
                       help="scale one emotion, 0-1 (repeatable), e.g. --strength anger=0.5")
    group.add_argument("--prior", choices=EMOTIONS, metavar="EMOTION",
                       help=f"blend in a prior emotion ({', '.join(EMOTIONS)})")
    group.add_argument("--prior-strength", type=float, metavar="S",
                       help="prior weight 0-1: 0.9 is mostly the prior, 0.3 a tint (default 0.5)")
    group.add_argument("--max-emotions", type=int, metavar="K", help="keep only the K strongest emotions")
    group.add_argument("--contrast", type=float, metavar="G",
                       help="exponent: >1 sharpens the dominant emotion, <1 flattens")
    group.add_argument("--threshold", type=float, metavar="T",
                       help="drop emotions below this share (they are not 'present')")


def analysis_settings(args: argparse.Namespace) -> AnalysisSettings:
    return AnalysisSettings(
        window=args.window, hop=args.hop, keyframe_interval=args.interval, anchor=args.anchor,
        adaptive=args.adaptive, switch_margin=args.switch_margin,
        switch_windows=args.switch_windows, min_pause=args.min_pause, batch_size=args.batch_size,
    )


def heuristic_settings(args: argparse.Namespace) -> HeuristicSettings:
    values: dict = {}
    if args.smoothing is not None:
        values.update(smoothing_enabled=True, smoothing=args.smoothing)
    strengths = dict.fromkeys(EMOTIONS, 1.0)
    for item in args.strength:
        name, sep, value = item.partition("=")
        if not sep or name not in EMOTIONS:
            raise ParameterError(f"--strength expects EMOTION=S with EMOTION one of {', '.join(EMOTIONS)}, got {item!r}")
        try:
            strengths[name] = float(value)
        except ValueError:
            raise ParameterError(f"--strength {name}: {value!r} is not a number") from None
    values["strengths"] = tuple(strengths.values())
    if args.prior is not None:
        strength = 0.5 if args.prior_strength is None else args.prior_strength
        values.update(prior_enabled=True, prior_emotion=args.prior, prior_strength=strength)
    elif args.prior_strength is not None:
        raise ParameterError("--prior-strength needs --prior EMOTION")
    if args.max_emotions is not None:
        values.update(max_emotions_enabled=True, max_emotions=args.max_emotions)
    if args.contrast is not None:
        values.update(contrast_enabled=True, contrast=args.contrast)
    if args.threshold is not None:
        values.update(threshold_enabled=True, threshold=args.threshold)
    return HeuristicSettings(**values)


class StderrProgress:
    """'analysing x.wav: 40 % (120/300 windows)' on stderr: redrawn in place on a terminal,
    one line per 10 % otherwise (logs stay short)."""

    def __init__(self, label: str, unit: str = "windows") -> None:
        self.label = label
        self.unit = unit
        self.tty = sys.stderr.isatty()
        self._last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        text = f"{self.label}: {percent:3d} % ({done}/{total} {self.unit})"
        if self.tty:
            print(f"\r{text}", end="\n" if done >= total else "", file=sys.stderr, flush=True)
        elif percent // 10 != self._last_decile:
            self._last_decile = percent // 10
            print(text, file=sys.stderr, flush=True)
