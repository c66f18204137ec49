"""A /wait server on loopback that replays every recorded stream and every negative case.

    python -m conformance replay [--port N] [--speed X|max] [--content-type TYPE] [--index]

Client authors point a client at it to see it handle real Airflow streams and every malformed
one, over real HTTP, without an Airflow. Each case is served at its own path (see
:mod:`conformance.clientkit.replay_cases`), e.g.
``/streams/dag-return/api/v2/dags/dag_return/dagRuns/replay/wait?interval=1``; ``GET /`` answers
the index of all cases with their URLs and labels (``schemas/replay-index.schema.json``), which
``--index`` also prints at start.

What goes on the wire is what the headers say: a 200 is sent with ``Transfer-Encoding: chunked``,
one chunk per piece (a recorded line, or what the negative case says), as each falls due: its
recorded arrival time divided by ``--speed`` (``max`` or 0: no waiting). A recording that came
gzip-compressed is compressed again, each line flushed into its own chunk, only when the
request's ``Accept-Encoding`` allows gzip; otherwise it goes out as identity. A negative case's
stored compressed body goes out as it is, with its ``Content-Encoding``. A cut case closes the
connection before the chunked body's end. Any other status is sent with ``Content-Length``, as
Airflow sends its error bodies. The recorded headers are sent in their order, the framing ones
recomputed; ``date`` is today's.

Like Airflow 3.3 and the 3.4 betas, it sends the 200 streams with no ``Content-Type``. With
``--content-type TYPE`` (``application/x-ndjson``: what an Airflow that fixed
STREAM-CONTENT-TYPE-1 would send) every 200 carries ``Content-Type: TYPE`` instead, so a client
can be tried against both; the error statuses keep their recorded ``application/json``.

It listens on 127.0.0.1 only (``--port 0``, the default, picks a free port) and says where on
stdout (with ``--index``: the index document, its ``url`` being the server's). Ctrl-C or SIGTERM
stops it, exit code 0. :class:`ReplayServer` is the same server as a context manager, serving
from a background thread, for tests and the client runner.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import signal
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from conformance.arguments import USAGE_ERROR, Parser
from conformance.clientkit.replay_cases import RUN_ID, ReplayCase, load_replay_cases

HOST = "127.0.0.1"
MISSING_BYTES = 32  # how many bytes a mid-chunk cut announces and never sends
INDEX_VERSION = 1
INDEX_PATHS = frozenset({"/", "/index.json"})
NDJSON = "application/x-ndjson"  # the media type a fixed Airflow declares on the stream
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;[ -~]*)?")  # RFC 9110 type/subtype, parameters in visible ASCII


def parse_speed(text: str) -> float:
    """``--speed``: a factor (1 = recorded pacing, 10 = ten times faster), or ``max``/0 for no waiting."""
    if text == "max":
        return 0.0
    try:
        speed = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or max") from None
    if speed < 0 or math.isnan(speed) or speed == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a speed: give a factor above 0 (1 = as recorded) or max")
    return speed


def parse_content_type(text: str) -> str:
    """``--content-type``: a media type (``type/subtype``, parameters allowed) to send on every 200."""
    if not MEDIA_TYPE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a media type: give type/subtype, e.g. {NDJSON}")
    return text


def speed_value(speed: float) -> float | str:
    """A speed as the index and the client report give it: the factor, or ``"max"``."""
    return "max" if speed == 0 else speed


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (``gzip``, ``x-gzip`` or ``*``, with q above 0)."""
    if not accept_encoding:
        return False
    qualities: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[coding.strip().lower()] = quality
    for coding in ("gzip", "x-gzip"):
        if coding in qualities:
            return qualities[coding] > 0
    return qualities.get("*", 0.0) > 0


def index(cases: Mapping[str, ReplayCase], url: str, speed: float, content_type: str | None = None) -> dict[str, Any]:
    """The machine-readable list of what is served where (replay-index.schema.json)."""
    return {
        "replay_version": INDEX_VERSION,
        "url": url,
        "speed": speed_value(speed),
        "content_type": content_type,
        "run_id": RUN_ID,
        "cases": [
            {
                "id": case.id,
                "kind": case.kind,
                "description": case.description,
                "url": url + case.target(),
                "base_url": url + case.base_path,
                "dag_id": case.dag_id,
                "query": [list(pair) for pair in case.query],
                "verdict": case.label.verdict,
                "expect": dict(case.label.expect) if case.label.expect is not None else None,
            }
            for case in cases.values()
        ],
    }


def _chunk(data: bytes, announced: int | None = None) -> bytes:
    size = len(data) if announced is None else announced
    return f"{size:x}\r\n".encode() + data + (b"\r\n" if announced is None else b"")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # format: the base class's name
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")

    def do_GET(self) -> None:  # http.server's naming
        started = time.monotonic()
        path = urlsplit(self.path).path
        if path in INDEX_PATHS:
            self._send_json(200, index(self.server.cases, self.server.url, self.server.speed, self.server.content_type))
            return
        case = self.server.case_for(path)
        if case is None:
            self._send_json(404, {"detail": f"no replay case at {path}; GET / lists every case and its URL"})
            return
        try:
            self._replay(case, started)
        except ConnectionError:  # the client went away (broken pipe, reset); nothing to tell it
            self.close_connection = True

    def _send_json(self, status: int, document: Mapping[str, Any]) -> None:
        body = json.dumps(document, indent=1).encode()
        self.log_request(status, len(body))
        self.send_response_only(status)
        self.send_header("date", self.date_time_string())
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _replay(self, case: ReplayCase, started: float) -> None:
        compress = case.gzip_on_request and accepts_gzip(self.headers.get("Accept-Encoding"))
        encoding = "gzip" if compress else case.content_encoding
        self.log_request(case.status)
        self.send_response_only(case.status)
        declared = self.server.content_type if case.status == 200 else None
        for name, value in case.headers:
            if declared is None or name.lower() != "content-type":
                self.send_header(name, value)
        if declared is not None:
            self.send_header("content-type", declared)
        self.send_header("date", self.date_time_string())
        if encoding:
            self.send_header("content-encoding", encoding)
        pieces = self._encoded(case, compress)
        if not case.chunked:
            body = b"".join(data for _, data in pieces)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self._wait_until(started, case.duration)
            self.wfile.write(body)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for number, (at, data) in enumerate(pieces, 1):
            self._wait_until(started, at)
            last = number == len(pieces)
            self.wfile.write(_chunk(data, len(data) + MISSING_BYTES if last and case.cut == "mid-chunk" else None))
            self.wfile.flush()
        if case.cut is not None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(b"0\r\n\r\n")

    def _encoded(self, case: ReplayCase, compress: bool) -> list[tuple[float, bytes]]:
        """The pieces as sent: compressed line by line (each flushed) when compressing, empty ones dropped."""
        if not compress:
            return [(piece.at, piece.data) for piece in case.pieces if piece.data]
        compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: the gzip format
        pieces = [
            (piece.at, compressor.compress(piece.data) + compressor.flush(zlib.Z_SYNC_FLUSH)) for piece in case.pieces
        ]
        return [*pieces, (case.duration, compressor.flush())]

    def _wait_until(self, started: float, at: float) -> None:
        if self.server.speed > 0:
            delay = started + at / self.server.speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stalled client must not keep the process alive
    block_on_close = False

    def __init__(
        self,
        port: int,
        cases: Mapping[str, ReplayCase],
        speed: float,
        log: Callable[[str], None] | None,
        content_type: str | None = None,
    ) -> None:
        self.cases = dict(cases)
        self.speed = speed
        self.content_type = content_type  # sent on every 200 when set; None: no Content-Type, as Airflow 3.3 sends
        self.log = log
        self._by_base = {case.base_path: case for case in cases.values()}
        super().__init__((HOST, port), _Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up, as clients that reject a stream do; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def case_for(self, path: str) -> ReplayCase | None:
        """The case a request path asks for: its base path, then any /api/v2/dags/{dag}/dagRuns/{run}/wait."""
        parts = path.split("/")  # "", prefix, case id, "api", "v2", "dags", dag, "dagRuns", run, "wait"
        if len(parts) != 10 or parts[3:6] != ["api", "v2", "dags"] or parts[7] != "dagRuns" or parts[9] != "wait":
            return None
        return self._by_base.get("/".join(parts[:3]))


class ReplayServer:
    """The replay server on a free loopback port, serving from a background thread while entered.

    ``content_type``: the ``Content-Type`` every 200 carries (e.g. :data:`NDJSON`); None, the
    default, sends none, as Airflow 3.3 and the 3.4 betas do.
    """

    def __init__(
        self,
        cases: Mapping[str, ReplayCase] | None = None,
        *,
        speed: float = 1.0,
        port: int = 0,
        log: Callable[[str], None] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.cases = dict(cases) if cases is not None else load_replay_cases()
        self._server = _Server(port, self.cases, speed, log, content_type)
        self._thread = threading.Thread(target=self._server.serve_forever, name="replay-server", daemon=True)

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def speed(self) -> float:
        return self._server.speed

    @property
    def content_type(self) -> str | None:
        return self._server.content_type

    def case_url(self, case_id: str) -> str:
        return self.url + self.cases[case_id].target()

    def index(self) -> dict[str, Any]:
        return index(self.cases, self.url, self.speed, self.content_type)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def parser() -> Parser:
    result = Parser(prog="python -m conformance replay", description=__doc__.split("\n\n")[0])
    result.add_argument("--port", type=int, default=0, help="the loopback port to listen on (default 0: a free one)")
    result.add_argument(
        "--speed",
        type=parse_speed,
        default=1.0,
        metavar="X|max",
        help="pace the recorded lines X times faster than they arrived (default 1); max or 0: no waiting",
    )
    result.add_argument(
        "--content-type",
        type=parse_content_type,
        metavar="TYPE",
        help=f"send Content-Type: TYPE on every 200 stream (e.g. {NDJSON}, as a fixed Airflow would); default: none, as Airflow 3.3 sends",
    )
    result.add_argument(
        "--index", action="store_true", help="print the JSON index of cases and URLs instead of one line"
    )
    result.add_argument("--quiet", action="store_true", help="do not log each request on stderr")
    return result


def wait_for_stop() -> None:
    """Return on Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    log = None if args.quiet else (lambda line: print(f"replay: {line}", file=sys.stderr, flush=True))
    try:
        server = ReplayServer(speed=args.speed, port=args.port, log=log, content_type=args.content_type)
    except OSError as exc:
        print(
            f"python -m conformance replay: cannot listen on {HOST}:{args.port} ({exc.strerror}); choose another --port.",
            file=sys.stderr,
        )
        return USAGE_ERROR
    with server:
        pace = "no waiting" if server.speed == 0 else f"speed {server.speed:g}"
        declared = "" if server.content_type is None else f"; Content-Type: {server.content_type} on every 200"
        summary = (
            f"replay: {len(server.cases)} cases at {server.url}/ ({pace}{declared}; GET / lists them; Ctrl-C stops)"
        )
        if args.index:
            print(json.dumps(server.index()), flush=True)  # one line, for a script to read
            print(summary, file=sys.stderr, flush=True)
        else:
            print(summary, flush=True)
        wait_for_stop()
    return 0
