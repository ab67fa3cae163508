"""JSON lines for what the commands print (classify, quality, learning from corrections).

``json.dumps`` writes NaN and Infinity by default, which no strict JSON reader accepts,
so one bad number would break a whole pipeline's parse. Non-finite numbers become
``null`` and the record gets a ``"note"`` naming them, so the line stays valid JSON and
the reader still learns that something went wrong.
"""

from __future__ import annotations

import json
import math
from numbers import Integral, Real
from typing import Any


def json_line(record: dict[str, Any]) -> str:
    """``record`` as one line of strict JSON (``allow_nan=False``)."""
    bad: list[str] = []
    clean = _finite(record, "", bad)
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        clean["note"] = f"not a finite number, written as null: {shown}"
    return json.dumps(clean, allow_nan=False)


def _finite(value: Any, where: str, bad: list[str]) -> Any:
    if isinstance(value, dict):
        return {key: _finite(item, f"{where}/{key}".lstrip("/"), bad) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item, f"{where}/{i}".lstrip("/"), bad) for i, item in enumerate(value)]
    if isinstance(value, bool) or not isinstance(value, Real):
        return value
    # numpy scalars are Real or Integral but not serialisable: hand json plain numbers.
    if isinstance(value, Integral):
        return int(value)
    number = float(value)
    if not math.isfinite(number):
        bad.append(where or "value")
        return None
    return number
