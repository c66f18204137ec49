"""JSON as RFC 8259 has it, for judging what a server sent.

Python's ``json.loads`` also accepts ``NaN``/``Infinity`` and lets the last of two equal keys
win; other parsers reject the first and disagree on the second, so a line using either has no
single meaning to a client and must not pass as valid NDJSON.
"""

from __future__ import annotations

import json
from typing import Any


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: str) -> Any:
    """Parse one JSON text; raises ValueError (JSONDecodeError for syntax) on anything RFC 8259 forbids."""
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
