"""Run pgbench and read its summary."""

import os
import re
import subprocess
from dataclasses import dataclass

from services import APP_PASSWORD, APP_USER, HOST, BenchError


@dataclass
class PgbenchSummary:
    tps: float
    average_connection_ms: float | None  # printed by pgbench 14+ with -C
    failed: int
    transactions: int  # "number of transactions actually processed"


TPS = re.compile(r"^tps = ([0-9.]+) \((without initial connection time|including reconnection times)\)", re.M)
CONNECTION = re.compile(r"^average connection time = ([0-9.]+) ms", re.M)
FAILED = re.compile(r"^number of failed transactions: (\d+)", re.M)
# "N" with -T, "N/M" (processed/planned) with -t.
PROCESSED = re.compile(r"^number of transactions actually processed: (\d+)", re.M)


def parse_summary(output):
    tps = TPS.search(output)
    if not tps:
        raise BenchError("pgbench printed no tps line")
    processed = PROCESSED.search(output)
    if not processed:
        raise BenchError("pgbench printed no number of transactions processed")
    connection = CONNECTION.search(output)
    failed = FAILED.search(output)
    return PgbenchSummary(tps=float(tps.group(1)),
                          average_connection_ms=float(connection.group(1)) if connection else None,
                          failed=int(failed.group(1)) if failed else 0,
                          transactions=int(processed.group(1)))


def run_pgbench(port, database, args, log_path, timeout=300, user=APP_USER):
    """Run `pgbench ARGS` against HOST:port as `user` (app's password); keep its output in `log_path`."""
    argv = ["pgbench", "-h", HOST, "-p", str(port), "-U", user, *args, database]
    env = dict(os.environ, PGPASSWORD=APP_PASSWORD, PGCONNECT_TIMEOUT="10")
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(argv) + "\n" + result.stdout + result.stderr)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BenchError(f"pgbench exited with {result.returncode}: {last} (log: {log_path})")
    summary = parse_summary(result.stdout)
    if summary.failed:
        raise BenchError(f"pgbench: {summary.failed} failed transactions (log: {log_path})")
    return summary
