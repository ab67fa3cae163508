"""A batch's summary: ``summary.csv``, ``summary.jsonl`` and ``report.html``.

Each finished line contributes the statistics of :func:`line_stats` (computed by the
worker from the saved project, so a skipped line reuses them from the ledger). The
report is one static HTML file, no scripts or network fonts: per character, the share of
speaking time each emotion holds (CSS bars) and how many lines each emotion dominates;
the quality flags and diagnosed problems of each line when the batch scored quality; and the failures with
their errors. All three files are written atomically.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_text_atomic
from .audio_diagnosis import problem_counts_text
from .document import Project
from .emotions import EMOTIONS

SUMMARY_CSV = "summary.csv"
SUMMARY_JSONL = "summary.jsonl"
REPORT_HTML = "report.html"
CSV_COLUMNS = ("name", "status", "this_run", "character", "audio", "duration_s", "keyframes", "dominant",
               *EMOTIONS, "estimated_pesq", "estimated_stoi", "vqscore", "flagged_seconds", "low_confidence_keys", "seconds", "error", "outputs")
SAMPLES_PER_SECOND = 20  # of the curves, for each emotion's share of the line


def line_stats(project: Project) -> dict[str, Any]:
    """Duration, keyframe count, each emotion's share of the line's time (its curves
    sampled evenly) and the dominant one; VQScore and flags when quality was scored."""
    keys = project.keyframes
    stats: dict[str, Any] = {"duration_s": round(project.duration, 3), "keyframes": len(keys)}
    if keys:
        times = np.linspace(0.0, max(project.duration, keys[-1].time),
                            max(2, int(project.duration * SAMPLES_PER_SECOND)))
        shares = project.curves_at(times)[:, :len(EMOTIONS)].mean(axis=0)
        shares = shares / max(float(shares.sum()), 1e-12)
        stats["emotions"] = {name: round(float(v), 4) for name, v in zip(EMOTIONS, shares)}
        stats["dominant"] = EMOTIONS[int(np.argmax(shares))]
    if project.quality is not None:
        if project.quality.estimated_pesq is not None:
            stats["estimated_pesq"] = round(float(project.quality.estimated_pesq), 3)
            stats["estimated_stoi"] = round(float(project.quality.estimated_stoi), 3)
        stats["vqscore"] = round(float(project.quality.vqscore), 4)
        stats["flagged_seconds"] = round(project.quality.flagged_seconds, 3)
        stats["flagged_regions"] = [[round(a, 3), round(b, 3)] for a, b in project.quality.regions]
        stats["low_confidence_keys"] = sum(k.low_confidence for k in keys)
        stats["problems"] = project.quality.problem_counts
    return stats


def write_summary(folder: Path, rows: list[dict[str, Any]], title: str = "Emotrack batch") -> None:
    """The three summary files of ``rows`` (one per planned line, in plan order)."""
    write_text_atomic(folder / SUMMARY_JSONL,
                      "".join(json.dumps(row, allow_nan=False) + "\n" for row in rows))
    write_text_atomic(folder / SUMMARY_CSV, summary_csv_text(rows))
    write_text_atomic(folder / REPORT_HTML, report_html(rows, title))


def summary_csv_text(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        emotions = row.get("emotions") or {}
        flat = {**row, **emotions, "outputs": ";".join(row.get("outputs") or [])}
        writer.writerow(["" if flat.get(c) is None else flat.get(c) for c in CSV_COLUMNS])
    return out.getvalue()


def character_distributions(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per character (sorted; "" = unnamed): lines, seconds, each emotion's share of the
    character's speaking time (lines weighted by duration) and lines per dominant emotion."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row.get("status") == "ok" and row.get("emotions"):
            groups[row.get("character") or ""].append(row)
    result = {}
    for character in sorted(groups):
        members = groups[character]
        weights = np.array([max(float(r.get("duration_s") or 0.0), 1e-6) for r in members])
        shares = np.array([[r["emotions"].get(e, 0.0) for e in EMOTIONS] for r in members])
        mean = weights @ shares / weights.sum()
        dominant = {e: sum(r.get("dominant") == e for r in members) for e in EMOTIONS}
        result[character] = {"lines": len(members), "seconds": round(float(weights.sum()), 2),
                             "shares": dict(zip(EMOTIONS, (round(float(v), 4) for v in mean))),
                             "dominant": dominant}
    return result


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:70em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:12px;vertical-align:middle}
.anger{background:#d33}.disgust{background:#7a3}.fear{background:#85c}.joy{background:#eb3}
.neutral{background:#999}.sadness{background:#37c}.bad{color:#b00}
"""


def report_html(rows: list[dict[str, Any]], title: str) -> str:
    esc = html.escape
    ok = sum(r.get("status") == "ok" for r in rows)
    failed = [r for r in rows if r.get("status") == "failed"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{esc(title)}</h1>",
             f"<p>{len(rows)} lines: {ok} done, {len(failed)} failed, "
             f"{len(rows) - ok - len(failed)} not run.</p>", "<h2>Emotions per character</h2>"]
    for character, dist in character_distributions(rows).items():
        parts.append(f"<h3>{esc(character or '(no character)')}: {dist['lines']} lines, "
                     f"{dist['seconds']:.1f} s</h3><table><tr><th>emotion</th><th>share of time</th>"
                     "<th></th><th>lines it dominates</th></tr>")
        for emotion in EMOTIONS:
            share = dist["shares"][emotion]
            parts.append(f"<tr><td>{emotion}</td><td class='num'>{100 * share:.1f} %</td>"
                         f"<td><span class='bar {emotion}' style='width:{300 * share:.0f}px'></span></td>"
                         f"<td class='num'>{dist['dominant'][emotion]}</td></tr>")
        parts.append("</table>")
    scored = [r for r in rows if r.get("vqscore") is not None]
    if scored:
        parts.append("<h2>Speech quality</h2><table><tr><th>line</th><th>character</th>"
                     "<th>estimated PESQ</th><th>estimated STOI</th><th>VQScore</th>"
                     "<th>flagged seconds</th><th>flagged regions</th><th>problems</th>"
                     "<th>low-confidence keys</th></tr>")
        for r in scored:
            flagged = r.get("flagged_seconds") or 0.0
            regions = ", ".join(f"{a:.2f}–{b:.2f} s" for a, b in r.get("flagged_regions") or [])
            problems = problem_counts_text(r.get("problems") or {})
            parts.append(f"<tr{' class=bad' if flagged else ''}><td>{esc(r['name'])}</td>"
                         f"<td>{esc(r.get('character') or '')}</td>"
                         f"<td class='num'>{_figure(r.get('estimated_pesq'), 2)}</td>"
                         f"<td class='num'>{_figure(r.get('estimated_stoi'), 3)}</td>"
                         f"<td class='num'>{r['vqscore']:.3f}</td>"
                         f"<td class='num'>{flagged:.2f}</td><td>{esc(regions)}</td>"
                         f"<td>{esc(problems)}</td>"
                         f"<td class='num'>{r.get('low_confidence_keys', 0)}</td></tr>")
        parts.append("</table>")
    if failed:
        parts.append("<h2 class='bad'>Failed lines</h2><table><tr><th>line</th><th>audio</th><th>error</th></tr>")
        for r in failed:
            parts.append(f"<tr><td>{esc(r['name'])}</td><td>{esc(str(r.get('audio', '')))}</td>"
                         f"<td>{esc(str(r.get('error', '')))}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Lines</h2><table><tr><th>line</th><th>character</th><th>status</th>"
                 "<th>seconds of audio</th><th>keys</th><th>dominant</th></tr>")
    for r in rows:
        parts.append(f"<tr><td>{esc(r['name'])}</td><td>{esc(r.get('character') or '')}</td>"
                     f"<td>{esc(r.get('status', ''))}</td><td class='num'>{r.get('duration_s') or ''}</td>"
                     f"<td class='num'>{r.get('keyframes') or ''}</td><td>{esc(r.get('dominant') or '')}</td></tr>")
    parts.append("</table></body></html>\n")
    return "".join(parts)


def _figure(value: float | None, digits: int) -> str:
    """A table cell's number, or a dash where the figure was not computed."""
    return "–" if value is None else f"{value:.{digits}f}"
