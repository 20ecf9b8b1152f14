"""Time ``alliance import scores`` on a simulated clinic history, and its idempotent second run.

    python -m benchmarks.history_import_speed [--episodes 300] [--open 30]

Simulates ``--episodes`` clients' episodes (``alliance.core.outcomes.simulate``: PHQ-9 before and
the alliance check after every session, weekly), closes all but ``--open`` of them in an episodes
file, builds the demo clinic in a new SQLite file (``alliance demo --no-serve --history 0``) and
times the real command three times in subprocesses: a dry run, the import, and the same import
again (which must find everything and write nothing). Each time includes the command's start-up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alliance.core.outcomes.simulate import simulate

ALLIANCE = str(Path(sys.executable).with_name("alliance"))
START = dt.date(2023, 1, 2)


def write_files(folder: Path, n: int, open_episodes: int) -> tuple[Path, Path, int]:
    """The scores and episodes CSVs; returns their paths and the number of score rows."""
    lines = ["client_id,session,date,instrument,total"]
    endings = ["client_id,ended,ending"]
    for index, episode in enumerate(simulate(n, seed=7, prefix="HIST-", observations=False)):
        first = START + dt.timedelta(days=3 * index)
        for number, (phq9, alliance) in enumerate(
            zip(episode.phq9, episode.alliance, strict=True), start=1
        ):
            day = (first + dt.timedelta(weeks=number - 1)).isoformat()
            lines.append(f"{episode.client_id},{number},{day},phq9,{phq9}")
            lines.append(f"{episode.client_id},{number},{day},alliance_check,{alliance:.1f}")
        if index >= open_episodes:
            last = first + dt.timedelta(weeks=episode.sessions - 1)
            ending = "unplanned" if episode.kind == "rupture_dropout" else "planned"
            endings.append(f"{episode.client_id},{last.isoformat()},{ending}")
    scores, episodes = folder / "scores.csv", folder / "episodes.csv"
    scores.write_text("\n".join(lines) + "\n", encoding="utf-8")
    episodes.write_text("\n".join(endings) + "\n", encoding="utf-8")
    return scores, episodes, len(lines) - 1


def timed(command: list[str], env: dict[str, str]) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--open", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alliance-import-bench-") as tmp:
        folder = Path(tmp)
        db = folder / "clinic.sqlite3"
        env = {**os.environ, "ALLIANCE_WEB_DIR": tmp, "DATABASE_URL": f"sqlite:///{db}"}
        build = [ALLIANCE, "demo", "--no-serve", "--db", str(db), "--history", "0"]
        subprocess.run([*build, "--password", "bench-Import-9"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        scores, episodes, rows = write_files(folder, args.episodes, args.open)
        command = [ALLIANCE, "import", "scores", str(scores), "--episodes", str(episodes),
                   "--clinic", "1", "--counselor", "counselor", "--json"]  # fmt: skip
        print(f"{args.episodes} episodes, {rows} score rows ({args.open} episodes left open)")
        for label, extra in (("dry run", ["--dry-run"]), ("import", []), ("second run", [])):
            seconds, counts = timed([*command, *extra], env)
            print(
                f"{label:<11} {seconds:6.1f} s  new scores {counts['administrations_created']}, "
                f"unchanged {counts['administrations_unchanged']}, alerts {counts['alerts_raised']}"
            )


if __name__ == "__main__":
    main()
