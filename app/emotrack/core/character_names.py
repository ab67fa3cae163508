"""Which of a character's blendshapes are which ARKit shapes: name matching, the user's
mapping file, and the retarget report.

A character's target name matches an ARKit name, in this order of precedence:

1. the user's mapping (``{"their name": "arkitName"}``, exact names);
2. the ARKit name itself after normalisation: case, separators, a namespace or
   blendshape-node prefix (``blendShape1.``, ``head:``), common prefixes (``BS_``,
   ``ARKit_``, ``CTRL_expressions_`` ...) and the spelling of the side (``L``/``_L``/
   ``Left``, also in front: ``Left_eyeBlink``) are ignored;
3. the built-in tables of other tools' names in :mod:`.arkit_aliases` (best-effort),
   normalised the same way.

When an ARKit name is reached at several levels, only its highest level's names drive
it; when several names reach it at that level (CC4's ``Brow_Raise_Inner_L`` and
``_R`` both reach ``browInnerUp``) their shapes are added and driven together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ParameterError
from .arkit_aliases import ALIAS_TABLES
from .face_arkit import ARKIT_INDEX, ARKIT_NAMES

# Stripped (repeatedly, case-insensitively) from the front of a name, with a separator.
_PREFIXES = re.compile(
    r"^(?:(?:arkit|bs|blend_?shapes?\d*|shapes?|morphs?|targets?|ctrl_expressions|ctrl|expressions?|"
    r"cc_base|mh|facs)[_\-\s]+)+", re.IGNORECASE)
_SEPARATORS = re.compile(r"[^0-9A-Za-z]+")
# Splits a camelCase word: "eyeBlinkL" -> eye, Blink, L; "mouthLipsPurseUL" -> ..., UL.
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SIDES = {"l": "left", "r": "right", "left": "left", "right": "right"}


def normalise_name(name: str) -> str:
    """A target name reduced to the words that identify it: ``"blendShape1.BS_Eye_Blink_L"``
    -> ``"eyeblinkleft"``; ``"EyeBlinkLeft"``, ``"eyeBlinkL"`` give the same."""
    name = re.split(r"[.:|]", str(name))[-1]  # Maya node / namespace, Blender path
    name = _PREFIXES.sub("", name)
    words = [w.lower() for piece in _SEPARATORS.split(name) for w in _WORDS.findall(piece)]
    words = [_SIDES.get(w, w) for w in words]
    if len(words) > 1 and words[0] in ("left", "right"):  # "Left_eyeBlink"
        words = words[1:] + words[:1]
    return "".join(words)


_DIRECT: dict[str, str] = {normalise_name(name): name for name in ARKIT_NAMES}
_ALIASES: dict[str, str] = {normalise_name(theirs): arkit for table in ALIAS_TABLES.values()
                            for theirs, arkit in table.items()}


@dataclass(frozen=True)
class RetargetReport:
    """How a character's targets map onto the 52 ARKit shapes.

    ``sources``: ARKit name -> the character's target name(s) that drive it (ARKit
    order); ``unmatched``: the character's target names that drive nothing (no match,
    or outranked by another match for the same ARKit shape); ``missing``: ARKit names
    the character has no shape for.
    """

    sources: dict[str, tuple[str, ...]]
    unmatched: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def matched(self) -> dict[str, str]:
        """ARKit name -> their name (several names joined with " + ")."""
        return {arkit: " + ".join(names) for arkit, names in self.sources.items()}

    @property
    def matched_names(self) -> tuple[str, ...]:
        """The ARKit names the character has, in ARKit order."""
        return tuple(self.sources)


def check_character_map(mapping, source: str = "character map") -> dict[str, str]:
    """``mapping`` as ``{their name: ARKit name}``; ParameterError naming the bad key."""
    if not isinstance(mapping, Mapping):
        raise ParameterError(f"{source} must be a JSON object {{\"their name\": \"arkitName\"}}, "
                             f"got {type(mapping).__name__}")
    checked = {}
    for theirs, arkit in mapping.items():
        if not isinstance(arkit, str):
            raise ParameterError(f"{source}: the value of {theirs!r} must be an ARKit name (a string), got {arkit!r}")
        if arkit not in ARKIT_INDEX:
            close = _DIRECT.get(normalise_name(arkit))
            hint = f" (did you mean {close!r}?)" if close else ""
            raise ParameterError(f"{source}: {theirs!r} maps to {arkit!r}, which is not an ARKit blendshape name{hint}")
        checked[str(theirs)] = arkit
    return checked


def load_character_map(path: str | Path) -> dict[str, str]:
    """Read and check a mapping file (UTF-8 JSON object)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParameterError(f"character map not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ParameterError(f"character map {path} is not readable JSON: {error}") from None
    return check_character_map(document, source=f"character map {path}")


def match_arkit_names(their_names: Iterable[str], mapping: Mapping[str, str] | None = None) -> RetargetReport:
    """Match a character's target names to ARKit names (see the module docstring).

    ``mapping`` keys that name no target of this character are ignored, so one
    mapping file can serve several characters from the same tool.
    """
    their_names = list(dict.fromkeys(str(n) for n in their_names))
    mapping = check_character_map(mapping) if mapping is not None else {}
    levels: dict[str, tuple[int, list[str]]] = {}  # ARKit name -> (best level, names at it)
    for theirs in their_names:
        key = normalise_name(theirs)
        if theirs in mapping:
            level, arkit = 0, mapping[theirs]
        elif key in _DIRECT:
            level, arkit = 1, _DIRECT[key]
        elif key in _ALIASES:
            level, arkit = 2, _ALIASES[key]
        else:
            continue
        best = levels.get(arkit)
        if best is None or level < best[0]:
            levels[arkit] = (level, [theirs])
        elif level == best[0]:
            best[1].append(theirs)
    sources = {arkit: tuple(levels[arkit][1]) for arkit in ARKIT_NAMES if arkit in levels}
    used = {name for names in sources.values() for name in names}
    return RetargetReport(sources=sources, unmatched=tuple(n for n in their_names if n not in used),
                          missing=tuple(n for n in ARKIT_NAMES if n not in sources))


def format_report(report: RetargetReport, limit: int = 20) -> str:
    """A few lines for a person: how many ARKit shapes matched, the character's names
    that did not, and the ARKit shapes it lacks (long lists cut at ``limit``)."""

    def listing(names: tuple[str, ...]) -> str:
        shown = ", ".join(names[:limit])
        return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")

    lines = [f"matched {len(report.sources)} of {len(ARKIT_NAMES)} ARKit shapes"]
    combined = [f"{arkit} <- {theirs}" for arkit, theirs in report.matched.items() if len(report.sources[arkit]) > 1]
    if combined:
        lines.append("driven together: " + "; ".join(combined))
    if report.unmatched:
        lines.append(f"not used ({len(report.unmatched)}): {listing(report.unmatched)}")
    if report.missing:
        lines.append(f"missing ({len(report.missing)}): {listing(report.missing)}")
    return "\n".join(lines)
