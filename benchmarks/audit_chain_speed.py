"""Time to chain an existing audit trail (migration audit/0002), verify it, and append to it.

Run: python benchmarks/audit_chain_speed.py [--events 100000] [--database-url URL]

Builds a fresh database (default: a temporary SQLite file; a PostgreSQL URL must name an empty
scratch database), migrates it with the audit app held at 0001, inserts ``--events`` unchained
events with plain SQL, then times the chaining migration, ``verify_chain`` (with peak memory,
which should not grow with the trail) and 1,000 appends through ``record()`` against 1,000 plain INSERTs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="alliance-audit-bench-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    os.environ.setdefault("ALLIANCE_WEB_DIR", str(scratch))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.web.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from alliance.web.audit.log import record
    from alliance.web.audit.verify import verify_chain

    call_command("migrate", verbosity=0)
    call_command("migrate", "audit", "0001", verbosity=0)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [
        (
            start + dt.timedelta(seconds=i),
            "counselor",
            1,
            "view",
            "client",
            str(i % 5000),
            "ok",
            "10.0.0.1",
            "dashboard:client",
        )
        for i in range(args.events)
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO audit_auditevent (at, username, clinic_id_ref, action, object_type,"
            " object_id, outcome, ip, route) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    del rows
    began = time.perf_counter()
    call_command("migrate", "audit", verbosity=0)
    chained = time.perf_counter()
    report = verify_chain()
    verified = time.perf_counter()
    for i in range(1000):
        record(None, "view", object_type="client", object_id=i)
    appended = time.perf_counter()
    with connection.cursor() as cursor:  # baseline: one unchained insert per transaction
        for i in range(1000):
            cursor.execute(
                "INSERT INTO audit_auditevent (at, username, action, object_type, object_id,"
                " outcome, route, prev_hash, hash) VALUES (%s, '', 'bench', '', %s, 'ok', '', '', '')",
                [start, str(i)],
            )
    inserted = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.events:,} events on {connection.vendor}; verify: intact={report.intact}")
    print(f"chain existing events (migration): {chained - began:6.2f} s")
    print(f"verify the chain:                  {verified - chained:6.2f} s")
    print(f"append 1,000 events via record():  {appended - verified:6.2f} s")
    print(f"baseline: 1,000 plain INSERTs:     {inserted - appended:6.2f} s")
    print(f"peak memory (whole process):       {peak:6.0f} MB")


if __name__ == "__main__":
    main()
