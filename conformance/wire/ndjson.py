"""The facts about /wait's NDJSON that its readers share: how lines are framed, which states end
a stream, and which keys of a line carry meaning.

Kept apart from :mod:`conformance.wire.stream` (the recorder, which needs the suite's case catalog)
so that a client, the reference client above all, can use them without loading the harness.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TERMINAL_STATES = frozenset({"success", "failed"})
# The keys a line's meaning is made of. Any other key is a server's addition, which readers
# ignore (CLIENTS.md, CLIENT-LINE-3) and the suite reports as a note, never as a failure.
KNOWN_KEYS = ("state", "results")


def is_terminal(line: Mapping[str, Any]) -> bool:
    """Whether a parsed line is a terminal line: its state is one a DAG run ends in.

    Every reader decides it here, so that the checks, the clients and the recordings never
    disagree about where a stream ends.
    """
    state = line.get("state")
    return isinstance(state, str) and state in TERMINAL_STATES


def outcome(line: Mapping[str, Any]) -> dict[str, Any]:
    """What a clause about values judges of a parsed line: its state and, when it has them, its
    results; keys a later Airflow may add are left out, so that they never decide a verdict."""
    return {key: line[key] for key in KNOWN_KEYS if key in line}


def unknown_keys(line: Mapping[str, Any]) -> list[str]:
    """The top-level keys of a parsed line that are not :data:`KNOWN_KEYS`, in line order."""
    return [key for key in line if key not in KNOWN_KEYS]


class LineFramer:
    """Cuts a byte stream into lines on ``\\n`` only, terminators kept, in linear time.

    Only the newly fed bytes are searched, so a 1 MB line arriving in many chunks costs one
    pass, not one pass per chunk. ``\\n`` never occurs inside a multi-byte UTF-8 character,
    so each complete line can be decoded on its own.
    """

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines this chunk completes."""
        start = len(self._pending)
        self._pending += chunk
        lines = []
        while (end := self._pending.find(b"\n", start)) >= 0:
            lines.append(bytes(self._pending[: end + 1]))
            del self._pending[: end + 1]
            start = 0
        return lines

    def rest(self) -> bytes:
        """What followed the last newline (an unterminated last line), emptying the framer."""
        rest = bytes(self._pending)
        self._pending.clear()
        return rest
