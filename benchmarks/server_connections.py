"""How many idle connections `alliance serve` tolerates, and /healthz latency under them.

Run: python benchmarks/server_connections.py [--steps 0,100,250,500,900,1200] [--slow 0.1]
     [--env ALLIANCE_CONNECTION_LIMIT=100 --env ALLIANCE_CHANNEL_TIMEOUT=120]

Starts `alliance serve --no-worker` on a throw-away SQLite site, then, for each step, holds that
many open connections (a fraction ``--slow`` of them stopped half-way through their request
headers, slow-loris style; the rest connected and silent) and times ``--probes`` sequential
/healthz requests, each on a new connection as a load balancer's probe makes them. The first probe
after new connections waits up to ``--settle`` seconds while the server accepts them ("first s");
after that a probe with no answer within ``--timeout`` seconds counts as refused.
``--env`` passes settings to the server, e.g. waitress's stock limits
(ALLIANCE_CONNECTION_LIMIT=100 ALLIANCE_CHANNEL_TIMEOUT=120) for comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

EXE = Path(sys.executable).with_name("alliance")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def probe(port: int, timeout: float) -> float | None:
    """Seconds for one GET /healthz on a fresh connection; None when it got no 200 in time."""
    start = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
    except OSError:
        return None
    return time.perf_counter() - start if reply.startswith(b"HTTP/1.1 200") else None


def start_server(home: Path, extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DJANGO_"))}
    env |= {"ALLIANCE_WEB_DIR": str(home), "DATABASE_URL": f"sqlite:///{home / 'b.sqlite3'}"}
    env |= extra
    port = free_port()
    proc = subprocess.Popen(
        [str(EXE), "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(home / "server.log").open("w"),
    )
    deadline = time.monotonic() + 180
    while probe(port, 2) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start: {(home / 'server.log').read_text()}")
        time.sleep(0.3)
    return proc, port


def hold(stack: ExitStack, port: int, count: int, slow: float) -> list[socket.socket]:
    """Open ``count`` connections that never finish a request."""
    socks = []
    for i in range(count):
        sock = stack.enter_context(socket.socket())
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        if i < count * slow:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        socks.append(sock)
    return socks


def still_open(socks: list[socket.socket]) -> int:
    """How many held connections the server has not closed (its idle timeout closes them)."""
    count = 0
    for sock in socks:
        sock.setblocking(False)
        try:
            closed = sock.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            closed = False
        except OSError:
            closed = True
        count += not closed
    return count


def measure(port: int, steps: list[int], args: argparse.Namespace) -> None:
    print(f"{'held':>6} {'open':>6} {'first s':>8} {'answered':>9} {'median ms':>10} {'p95 ms':>8}")
    with ExitStack() as stack:
        socks: list[socket.socket] = []
        for step in steps:
            socks += hold(stack, port, step - len(socks), args.slow)
            # The first probe waits while the server accepts the new connections; not counted.
            first = probe(port, args.settle)
            times = []
            for i in range(args.probes):
                times.append(probe(port, args.timeout))
                if i == 2 and times == [None] * 3:
                    break  # refused three times: not accepting
            ok = sorted(t * 1000 for t in times if t is not None)
            settled = "-" if first is None else f"{first:.1f}"
            row = f"{step:>6} {still_open(socks):>6} {settled:>8} {len(ok):>4}/{len(times):<4}"
            if ok:
                p95 = ok[min(len(ok) - 1, int(0.95 * len(ok)))]
                row += f" {statistics.median(ok):>10.1f} {p95:>8.1f}"
            print(row, flush=True)
            if not ok:
                print(f"server stopped accepting with {step} connections held open")
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", default="0,100,250,500,900,1200")
    parser.add_argument("--slow", type=float, default=0.1, help="fraction sending half a request")
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per probe")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds for the first")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    args = parser.parse_args()
    steps = sorted(int(s) for s in args.steps.split(","))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, steps[-1] + 256)), hard))
    extra = dict(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(Path(tmp), extra)
        try:
            print(f"alliance serve {' '.join(args.env) or '(defaults)'}; probes: {args.probes}")
            measure(port, steps, args)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
