"""Staff pages and the final questionnaire submit at clinic scale, on the production server.

Run: python benchmarks/web_scale.py [--sizes 50,1000,5000] [--db sqlite,postgres]
     [--repeat 20] [--concurrent 20] [--postgres postgres://postgres@127.0.0.1:5432]
     [--prefix alliance_scale] [--json OUT] [--keep DIR]

For each database and clinic size it builds the clinic with the demo's own code
(``alliance.web.demo.seed(clients=N)``), serves it with ``alliance serve`` (waitress) in a
subprocess, logs in as counselor, supervisor and admin, and requests every staff page
``--repeat`` times, plus a static file as the yardstick of the same run (the machine's speed
and load cancel out of the ratio). Then ``--concurrent`` clients, each with its own feedback
link made through the app's services, answer every page over HTTP and submit the last one at
the same moment; only that final POST is timed. PostgreSQL databases are created as
``<prefix>_<size>``, vacuumed and analysed as autovacuum leaves a long-lived database, and
dropped afterwards.
"""

from __future__ import annotations

import argparse
import functools
import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PASSWORD = "bench-Scale-pass-7"
STATIC = "/static/alliance/site.css"
BUILD = """
import json, sys, time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
start = time.perf_counter()
if {seed}:
    from alliance.web.demo import seed
    seed({password!r}, clients={size})
built = time.perf_counter() - start
from alliance.web.clinic.models import Episode
from alliance.web.clinic.services import next_session
from alliance.web.feedback.services import create_link
from alliance.web.transcripts.models import Transcript
tokens = []
open_episodes = Episode.objects.filter(closed_on__isnull=True).select_related("client__counselor")
for episode in open_episodes.order_by("pk")[:{links}]:
    session = next_session(episode, status="attended")
    tokens.append(create_link(session, episode.client.counselor)[1])
transcript = Transcript.objects.order_by("pk").first()
print(json.dumps({{"seconds": built, "links": tokens, "transcript": transcript.pk,
    "client": transcript.session.episode.client_id}}))
"""


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


class Browser:
    """One person's cookies (session and CSRF) against the server."""

    def __init__(self, base: str) -> None:
        self.base = base
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(cookies)
        self.no_redirect = urllib.request.build_opener(cookies, _Stay())

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=120) as response:
            return response.geturl(), response.read().decode()

    def post(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.base + path, data=data)
        request.add_header("Referer", self.base + path)
        with self.opener.open(request, timeout=120) as response:
            return response.geturl(), response.read().decode()

    def submit(self, path: str, fields: dict[str, str]) -> str:
        """POST without following the redirect (only the submit itself is timed); the target."""
        request = urllib.request.Request(
            self.base + path, data=urllib.parse.urlencode(fields).encode()
        )
        try:
            with self.no_redirect.open(request, timeout=120) as response:
                return f"{response.status} {response.geturl()}"
        except urllib.error.HTTPError as answer:
            return str(answer.headers.get("Location", answer.code))

    def login(self, username: str) -> None:
        _, page = self.get("/accounts/login/")
        url, _ = self.post(
            "/accounts/login/",
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": _csrf(page)},
        )
        if urllib.parse.urlparse(url).path != "/":
            raise RuntimeError(f"login as {username} failed (ended at {url})")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def _answers(html: str) -> dict[str, str]:
    """The first option of every question on a questionnaire page, and its CSRF token."""
    chosen: dict[str, str] = {}
    for name, value in re.findall(r'type="radio" name="([^"]+)" value="([^"]+)"', html):
        chosen.setdefault(name, value)
    return chosen | {"csrfmiddlewaretoken": _csrf(html)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def database(
    kind: str, size: int, args: argparse.Namespace, home: Path, kept: bool
) -> Iterator[str]:
    """The clinic's database URL: a new one, or the one ``kept`` from an earlier run, which
    with ``--keep`` is kept again."""
    if kind == "sqlite":
        yield f"sqlite:///{home / 'clinic.sqlite3'}"
        return
    import psycopg

    name = f"{args.prefix}_{size}"
    admin = f"{args.postgres}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not kept:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{args.postgres}/{name}"
    finally:
        if args.keep is None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DJANGO_"))}
    return env | {
        "DATABASE_URL": url,
        "ALLIANCE_WEB_DIR": str(home),
        "ALLIANCE_DATA_DIR": str(home / "data"),
        "DJANGO_SETTINGS_MODULE": "alliance.web.settings",
    }


def settle(kind: str, url: str) -> None:
    """Give the freshly built database the statistics and visibility map a long-lived one has
    (PostgreSQL's autovacuum keeps them current; without them the planner guesses 1% of the
    rows and index-only scans read the table anyway)."""
    if kind != "postgres":
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def build(size: int, links: int, env: dict[str, str], seed: bool = True) -> dict[str, Any]:
    """Migrate, seed the clinic (unless ``seed`` is false: a kept one) and make ``links`` new
    feedback links, each on a new session of an open episode."""
    script = BUILD.format(password=PASSWORD, size=size, links=links, seed=seed)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        raise RuntimeError(f"building the clinic failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@contextmanager
def served(env: dict[str, str], home: Path) -> Iterator[str]:
    port = _free_port()
    exe = Path(sys.executable).with_name("alliance")
    with (home / "server.log").open("w") as log:
        proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port), "--no-worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(base + "/healthz", proc)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("server did not start")


def pages(facts: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, login, path) of every staff page measured."""
    client = facts["client"]
    return [
        ("static file", "counselor", STATIC),
        ("caseload (counselor)", "counselor", "/"),
        ("caseload (supervisor)", "supervisor", "/"),
        ("caseload (admin)", "admin", "/"),
        ("team (supervisor)", "supervisor", "/team/"),
        ("due today (counselor)", "counselor", "/worklist/"),
        ("due today (supervisor)", "supervisor", "/worklist/"),
        ("due today (admin)", "admin", "/worklist/"),
        ("client page", "counselor", f"/clients/{client}/"),
        ("sessions page", "counselor", f"/clients/{client}/sessions/"),
        ("transcript page", "counselor", f"/transcripts/{facts['transcript']}/"),
        ("audit log (admin)", "admin", "/audit/"),
        ("new client form", "counselor", "/clients/new/"),
        ("staff (admin)", "admin", "/manage/staff/"),
        ("teams (admin)", "admin", "/manage/teams/"),
        ("instrument plan (admin)", "admin", "/manage/instruments/"),
    ]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def measure_pages(base: str, facts: dict[str, Any], repeat: int) -> dict[str, list[float]]:
    people: dict[str, Browser] = {}
    for login in ("counselor", "supervisor", "admin"):
        people[login] = Browser(base)
        people[login].login(login)
    times: dict[str, list[float]] = {}
    for label, login, path in pages(facts):
        browser = people[login]
        browser.get(path)  # warm up: imports, template compilation, the fitted reference
        times[label] = [timed(functools.partial(browser.get, path)) for _ in range(repeat)]
    return times


def measure_submits(base: str, tokens: list[str]) -> list[float]:
    """Every client answers all but the last page, then all submit the last one together."""
    barrier = threading.Barrier(len(tokens))
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(token: str) -> None:
        browser = Browser(base)
        try:
            url, html = browser.get(f"/f/{token}/")
            while "Submit</button>" not in html:
                url, html = browser.post(urllib.parse.urlparse(url).path, _answers(html))
            fields, path = _answers(html), urllib.parse.urlparse(url).path
        except Exception as exc:
            errors.append(f"{token[:6]}: {exc}")
            barrier.abort()
            return
        barrier.wait()
        start = time.perf_counter()
        end = browser.submit(path, fields)
        elapsed = (time.perf_counter() - start) * 1000
        with lock:
            times.append(elapsed)
            if not end.endswith("/f/thanks/"):
                errors.append(f"{token[:6]}: submit ended at {end}")

    threads = [threading.Thread(target=one, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError("; ".join(errors))
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@contextmanager
def clinic_home(kind: str, size: int, args: argparse.Namespace) -> Iterator[Path]:
    """A temporary folder for the clinic's files, or with ``--keep`` a lasting one per clinic."""
    if args.keep is None:
        with tempfile.TemporaryDirectory(prefix="alliance-scale-") as tmp:
            yield Path(tmp)
        return
    home = args.keep / f"{kind}-{size}"
    home.mkdir(parents=True, exist_ok=True)
    yield home


def run(kind: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    with clinic_home(kind, size, args) as home:
        kept = (home / "built").exists()  # only ever written with --keep
        with database(kind, size, args, home, kept) as url:
            env = environment(url, home)
            facts = build(size, args.concurrent, env, seed=not kept)
            if kept:
                facts["seconds"] = float((home / "built").read_text())
                print(f"{kind} {size}: kept from an earlier run", file=sys.stderr)
            else:
                print(f"{kind} {size}: built in {facts['seconds']:.1f} s", file=sys.stderr)
                settle(kind, url)
                if args.keep is not None:
                    (home / "built").write_text(str(facts["seconds"]))
            with served(env, home) as base:
                times = measure_pages(base, facts, args.repeat)
                times[f"final submit ({args.concurrent} at once)"] = measure_submits(
                    base, facts["links"]
                )
    return {"db": kind, "size": size, "build_seconds": facts["seconds"], "times_ms": times}


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| db | clients | page | median ms | p95 ms | median / static | p95 / static |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for result in results:
        times = result["times_ms"]
        static = statistics.median(times["static file"])
        for label, values in times.items():
            median, high = statistics.median(values), p95(values)
            lines.append(
                f"| {result['db']} | {result['size']:,} | {label} | {median:.1f} | {high:.1f} "
                f"| {median / static:.1f} | {high / static:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="50,1000,5000")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--prefix", default="alliance_scale")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep each clinic (files in KEEP/<db>-<size>, PostgreSQL databases undropped) and "
        "reuse it on the next run with the same KEEP: a 5,000-client PostgreSQL clinic takes "
        "minutes to build",
    )
    args = parser.parse_args()
    results = [
        run(kind, int(size), args) for kind in args.db.split(",") for size in args.sizes.split(",")
    ]
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
