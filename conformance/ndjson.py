"""The two facts about /wait's NDJSON that its readers share: how lines are framed, which states end a stream.

Kept apart from :mod:`conformance.stream` (the recorder, which needs the suite's case catalog)
so that a client, the reference client above all, can use them without loading the harness.
"""

from __future__ import annotations

TERMINAL_STATES = frozenset({"success", "failed"})


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
