"""``emotrack batch INPUT... -o OUTDIR``: analyse a whole game's dialogue, resumably.

INPUT is a folder (every audio file in it, recursively; the first sub-folder names the
character), an audio file, or a manifest (CSV with a header, or JSON lines) of ``path``
and optional ``prior``, ``prior_strength``, ``character`` and ``name``. Each line gives
``OUTDIR/NAME.emotrack`` and its exports; the batch gives ``summary.csv``,
``summary.jsonl`` and ``report.html``. A rerun skips the lines whose audio, model and
settings are unchanged. Exit code 1 when some lines failed (the others are done).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ..core.atomic import output_path
from ..core.batch_plan import collect_lines
from ..core.batch_report import SUMMARY_CSV
from ..core.document import FRAME_RATES
from ..errors import ParameterError
from . import options
from .export import FORMATS

EXIT_LINES_FAILED = 1


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch", help="analyse and export many lines, resumably, locally or on a Ray cluster",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="folders, audio files or manifests (.csv, .jsonl)")
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for the results")
    parser.add_argument("--export", default="csv", metavar="FORMATS",
                        help=f"comma-separated exports per line, '' for none (default csv): {', '.join(FORMATS)}")
    parser.add_argument("--fps", type=int, default=30, choices=FRAME_RATES, help="animation frame rate (default 30)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes (default: one per core), or Ray actors with --ray "
                             "(default: one per GPU, else per CPU of the cluster)")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="run on a Ray cluster: 'auto', 'ray://HEAD:10001', or 'local' for a "
                             "private instance on this machine (needs pip install 'emotrack[ray]')")
    parser.add_argument("--force", action="store_true", help="re-run lines that are already done")
    options.add_quality_flag_options(parser, "flag bad audio in the report")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    options.add_model_options(parser)
    options.add_actor_option(parser, folder=False)
    parser.add_argument("--actors", metavar="DIR|auto",
                        help="a folder of actor references named after the manifest's characters "
                             "(CHARACTER.json, from 'emotrack actor-reference'): each line is read relative to "
                             "its character's; lines of other characters use --actor, if given. 'auto': make "
                             "each character's reference from its own lines in this batch (OUTDIR/actors/); lines "
                             "without a character are grouped by voice first")
    options.add_analysis_options(parser)
    options.add_heuristic_options(parser)
    parser.set_defaults(func=run)


def export_kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in FORMATS]
    if unknown:
        raise ParameterError(f"--export: unknown format {unknown[0]!r} (choose from {', '.join(FORMATS)})")
    return kinds


def actor_json(args: argparse.Namespace) -> dict | None:
    """``--actor``'s reference as JSON for the workers (read and checked here, once)."""
    if not args.actor:
        return None
    if args.actor == options.FOLDER_ACTOR and not Path(args.actor).is_file():
        raise ParameterError("--actor folder is for analyze and classify: batch makes each voice's reference "
                             "itself with --actors auto")
    from ..core.actor_reference import ActorReference

    reference = ActorReference.load(args.actor)
    check_fits_model(reference, args.model, args.actor)
    return reference.to_json()


def actors_json(args: argparse.Namespace) -> dict[str, dict] | None:
    """``--actors``' references by character (file stem), read and checked here, once."""
    if not args.actors or args.actors == "auto":
        return None
    from ..core.actor_reference import ActorReference

    folder = Path(args.actors)
    if not folder.is_dir():
        raise ParameterError(f"--actors must name a folder of CHARACTER.json actor references, got {args.actors!r}")
    references = {}
    for path in sorted(folder.glob("*.json")):
        reference = ActorReference.load(path)
        check_fits_model(reference, args.model, path)
        references[path.stem] = reference.to_json()
    if not references:
        raise ParameterError(f"no actor references (*.json) in {options.one_line(folder)}")
    return references


def check_fits_model(reference, model: str | None, source) -> None:
    """Refuse, before any line runs, a reference the emotion model cannot read: the
    model's actor head names the encoder its references must come from."""
    from ..core.actor_reference import actor_head_id

    wanted = actor_head_id(model)
    if wanted is None:
        raise ParameterError("the emotion model has no actor head (its actor/config.json is missing or "
                             f"unreadable), so it cannot use the actor reference {options.one_line(source)}")
    if reference.model != wanted:
        raise ParameterError(f"the actor reference {options.one_line(source)} was made with another emotion "
                             "encoder: make it again with this model ('emotrack actor-reference')")


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from ..batch.progress import BatchProgress
    from ..batch.runner import run_batch
    from ..batch.work import BatchSettings

    if args.workers is not None and args.workers < 1:
        raise ParameterError(f"--workers must be at least 1, got {args.workers}")
    folder = Path(args.output)
    if str(args.output).strip() == "" or (folder.exists() and not folder.is_dir()):
        raise ParameterError(f"-o must name a folder, got {options.one_line(args.output)!r}")
    output_path(folder / "summary.csv")  # a folder under a file fails now, in one line
    settings = BatchSettings(
        model=args.model, device=args.device, analysis=options.analysis_settings(args),
        heuristics=options.heuristic_settings(args), fps=args.fps, exports=export_kinds(args.export),
        quality=args.quality, quality_threshold=args.quality_threshold, actor=actor_json(args),
        actors=actors_json(args))
    lines = collect_lines(args.inputs)
    if args.actors == "auto":
        from ..batch.own_references import own_references, print_news, voice_characters

        say = (lambda text: None) if args.quiet else print_news
        lines = voice_characters(lines, folder, args.model, args.device, settings.analysis, say)
        settings = replace(settings, actors=own_references(lines, folder, args.model, args.device,
                                                           settings.analysis, say))
    suffixes = {kind: FORMATS[kind][0] for kind in settings.exports}
    engine = _engine(args, settings)
    progress = BatchProgress(quiet=args.quiet)
    outcome = run_batch(lines, folder, settings, suffixes, engine, progress, force=args.force)
    summary = options.one_line(folder / SUMMARY_CSV)
    print(f"batch: {outcome.total} lines: {outcome.analysed} analysed, {outcome.skipped} unchanged, "
          f"{outcome.failed} failed; summary in {summary}", file=sys.stderr)
    if outcome.failed:
        print(f"emotrack: error: {outcome.failed} of {outcome.total} lines failed (see {summary})",
              file=sys.stderr)
        return EXIT_LINES_FAILED
    return 0


def _engine(args: argparse.Namespace, settings):
    if args.ray:
        from ..batch.ray_pool import connect, run_ray

        connect(args.ray)  # a wrong address fails before any work
        return lambda jobs, on_result: run_ray(jobs, settings, args.ray, args.workers, on_result)
    from ..batch.local_pool import default_workers, run_local

    workers = args.workers or default_workers()
    return lambda jobs, on_result: run_local(jobs, settings, workers, on_result)
