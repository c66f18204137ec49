"""A deliberately sloppy /wait client, to show that ``python -m conformance clients`` catches one.

    python3 tools/sloppy_client.py URL

It keeps the runner's contract (the URL as the last argument; the terminal line as one JSON
line on stdout and exit 0, or exit 1) but takes every shortcut a quick client takes: it reads
whatever arrived even when the connection broke, decodes with ``errors="replace"``, splits with
``str.splitlines``, strips lines with ``str.strip``, parses with plain ``json.loads``, skips
lines it cannot parse, and answers with the first success or failed line it finds. Only the
standard library, and urllib, which asks for no compression.

``tools/sloppy_client.expected-failures.json`` lists the cases it fails and why, worked out
from these rules before it was first run.
"""

from __future__ import annotations

import http.client
import json
import sys
import urllib.error
import urllib.request

TERMINAL = ("success", "failed")


def fetch(url: str) -> bytes:
    """The body, whatever the status, and whatever arrived before a broken connection."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            try:
                return response.read()
            except http.client.IncompleteRead as exc:
                return exc.partial
    except urllib.error.HTTPError as exc:
        return exc.read()


def first_terminal_line(body: bytes) -> dict | None:
    for line in body.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and value.get("state") in TERMINAL:
            return value
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 tools/sloppy_client.py URL", file=sys.stderr)
        return 4
    terminal = first_terminal_line(fetch(argv[0]))
    if terminal is None:
        print(json.dumps({"error": "no terminal line"}))
        return 1
    print(json.dumps({"state": terminal["state"], "results": terminal.get("results")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
