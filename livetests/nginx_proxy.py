"""nginx from Debian as a reverse proxy in front of the api-server, in several configurations.

One nginx process serves one ``server`` block per named variant, each on a free loopback port
and proxying to the same upstream. A variant is the directives of its ``location /`` block;
``proxy_pass`` to the upstream is added unless the variant names its own, and ``{name}`` in a
variant stands for another variant's URL (to chain two hops). The ``http`` block carries the
settings of Debian's stock ``/etc/nginx/nginx.conf`` that bear on responses (sendfile,
tcp_nopush, gzip for text/html), so a variant with no directives is what a user who adds a
bare ``proxy_pass`` to a Debian nginx gets.

nginx runs in the foreground as one process (``master_process off``) with every path it
writes under a temporary prefix, and is stopped when the block ends.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance.targets.base import free_port
from conformance.targets.processes import stop_process_group

CONFIG = """\
daemon off;
master_process off;
pid {prefix}/nginx.pid;
events {{}}
http {{
    sendfile on;
    tcp_nopush on;
    gzip on;
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
{servers}
}}
"""

SERVER = """\
    server {{
        listen 127.0.0.1:{port};
        location / {{
            {directives}
        }}
    }}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if not found:
        pytest.fail("nginx is not installed; the proxy checks need it (`apt-get install nginx-light` or `nginx`).")
    return found


def render(upstream: str, variants: Mapping[str, str], ports: Mapping[str, int], prefix: Path) -> str:
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    servers = []
    for name, directives in variants.items():
        directives = directives.format(**urls)
        if "proxy_pass" not in directives:
            directives = f"proxy_pass {upstream}; {directives}"
        servers.append(SERVER.format(port=ports[name], directives=directives))
    return CONFIG.format(prefix=prefix, servers="".join(servers))


@contextmanager
def nginx(upstream: str, variants: Mapping[str, str], ready_timeout: float = 15.0) -> Iterator[dict[str, str]]:
    """nginx proxying ``upstream`` once per variant; yields each variant's base URL."""
    binary = nginx_binary()
    prefix = Path(tempfile.mkdtemp(prefix="conformance-nginx-"))
    ports = {name: free_port() for name in variants}
    (prefix / "nginx.conf").write_text(render(upstream, variants, ports, prefix))
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + ready_timeout
        for port in ports.values():
            while not _listening(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (prefix / "error.log").read_text(errors="replace") if (prefix / "error.log").exists() else ""
                    pytest.fail(f"nginx did not start (exit {process.poll()}): {log[-1000:]}")
                time.sleep(0.1)
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        stop_process_group(process, grace=5)
        shutil.rmtree(prefix, ignore_errors=True)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False
