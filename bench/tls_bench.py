#!/usr/bin/env python3
"""TLS figures: TierGate terminating client TLS beside PgBouncer with client_tls on the same
certificate, both in front of the stack's Postgres, clients speaking sslmode=require.

    python3 bench/tls_bench.py --bin .build-bench/release/tiergate [--seconds 10] [--smoke]

- TLS connects per second: `pgbench -C -S` (a new TLS connection, SCRAM login and one
  SELECT per transaction), 8 clients. Each connection also costs a Postgres backend through
  TierGate (it does not pool) and a SCRAM exchange in PgBouncer (it authenticates clients
  itself, from an auth_file with the password), so the figure is the whole connect path.
- TLS relay CPU per transaction: `pgbench -S` over persistent TLS sessions, 16 clients;
  the proxy's CPU time (user + system, /proc/PID/stat) over the run divided by the
  transactions pgbench completed.

The two proxies run one after the other, each path twice in alternating order (ABBA), and
the figures are the means. Needs the stack (`scripts/stack.sh up`) and pgbench's tables in
tiergate_test (`bench/run.sh` makes them; so does `pgbench -i -s 1`). Writes
bench/results/tls-latest.md and .json unless --smoke.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from pgbench_run import parse_summary  # noqa: E402
from procfs import CLOCK_TICKS, cpu_ticks  # noqa: E402
from services import (APP_PASSWORD, APP_USER, HOST, BenchError, ManagedProcess, free_port,  # noqa: E402
                      wait_for_port, write_pgbouncer_config)

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
DATABASE = "tiergate_test"


def make_certificate(directory):
    """A CA and a server certificate for localhost/127.0.0.1, EC P-256, as the tests make them."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    with open(os.path.join(directory, "ext.cnf"), "w") as ext:
        ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for argv in (["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=bench CA",
                  "-addext", "basicConstraints=critical,CA:TRUE"],
                 ["req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
                 ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                  "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf"]):
        subprocess.run(["openssl", *argv], cwd=directory, check=True, capture_output=True)
    for name in os.listdir(directory):
        os.chmod(os.path.join(directory, name), 0o644)  # PgBouncer reads them as postgres
    return os.path.join(directory, "server.crt"), os.path.join(directory, "server.key")


def start_pgbouncer(workdir, pg_port, cert, key):
    """PgBouncer 1.18 with client TLS on `cert`, SCRAM for clients (like the stack's), pooling."""
    port = free_port()
    ini = write_pgbouncer_config(workdir, port, pg_port, auth_type="scram-sha-256", max_clients=200, pool_size=20,
                                 extra=f"client_tls_sslmode = allow\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}\n")
    process = ManagedProcess(f"pgbouncer tls :{port}", ["pgbouncer", "-u", "postgres", ini],
                             os.path.join(workdir, "pgbouncer.log"))
    process.port = port
    wait_for_port(port)
    return process


def start_tiergate(binary, workdir, pg_port, cert, key):
    port = free_port()
    process = ManagedProcess(f"tiergate tls :{port}",
                             [binary, "serve", "--listen", f"{HOST}:{port}", "--upstream", f"{HOST}:{pg_port}",
                              "--log-level", "warning", "--tls-cert", cert, "--tls-key", key, "--client-tls", "require"],
                             os.path.join(workdir, "tiergate.log"))
    process.port = port
    wait_for_port(port)
    return process


def pgbench(port, args, seconds, log_path):
    argv = ["pgbench", "-n", "-T", str(seconds), *args,
            f"host={HOST} port={port} user={APP_USER} dbname={DATABASE} sslmode=require"]
    env = dict(os.environ, PGPASSWORD=APP_PASSWORD, PGCONNECT_TIMEOUT="10")
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 120)
    with open(log_path, "a") as log:
        log.write("$ " + " ".join(argv) + "\n" + result.stdout + result.stderr)
    if result.returncode != 0:
        raise BenchError(f"pgbench exited with {result.returncode} (log: {log_path})")
    summary = parse_summary(result.stdout)
    if summary.failed:
        raise BenchError(f"pgbench: {summary.failed} failed transactions (log: {log_path})")
    return summary


def measure(proxy, seconds, workdir):
    log = os.path.join(workdir, "pgbench.log")
    connects = pgbench(proxy.port, ["-C", "-S", "-c", "8", "-j", "2"], seconds, log)
    before = cpu_ticks(proxy.pid)
    relay = pgbench(proxy.port, ["-S", "-c", "16", "-j", "2"], seconds, log)
    cpu_seconds = (cpu_ticks(proxy.pid) - before) / CLOCK_TICKS
    proxy.check_alive()
    return {"connects_per_second": connects.tps,
            "average_connection_ms": connects.average_connection_ms,
            "persistent_tps": relay.tps,
            "cpu_us_per_transaction": cpu_seconds * 1e6 / max(1, relay.transactions)}


def mean(values):
    return sum(values) / len(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.environ.get("TIERGATE_BIN", os.path.join(BENCH_DIR, "..", ".build-bench", "release", "tiergate")))
    parser.add_argument("--seconds", type=int, default=10, help="length of each pgbench run")
    parser.add_argument("--smoke", action="store_true", help="2-second runs, one round, no report written")
    args = parser.parse_args()
    seconds = 2 if args.smoke else args.seconds
    pg_port = int(os.environ.get("TIERGATE_PG_PORT", "25432"))
    workdir = tempfile.mkdtemp(prefix="tiergate-tls-bench-")
    cert, key = make_certificate(workdir)
    bouncer = start_pgbouncer(workdir, pg_port, cert, key)
    tiergate = start_tiergate(args.bin, workdir, pg_port, cert, key)
    results = {"pgbouncer": [], "tiergate": []}
    try:
        order = [("tiergate", tiergate), ("pgbouncer", bouncer)]
        rounds = [order] if args.smoke else [order, order[::-1]]
        for round_order in rounds:
            for name, proxy in round_order:
                results[name].append(measure(proxy, seconds, workdir))
                print(f"{name}: {results[name][-1]}", flush=True)
    finally:
        tiergate.stop()
        bouncer.stop()
    summary = {name: {key: mean([run[key] for run in runs]) for key in runs[0] if runs[0][key] is not None}
               for name, runs in results.items()}
    ratio_connects = summary["tiergate"]["connects_per_second"] / summary["pgbouncer"]["connects_per_second"]
    ratio_cpu = summary["tiergate"]["cpu_us_per_transaction"] / summary["pgbouncer"]["cpu_us_per_transaction"]
    lines = [
        f"# TLS figures ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {seconds} s runs, "
        f"{len(results['tiergate'])} round(s))",
        "",
        "| figure | PgBouncer (client_tls) | TierGate (--client-tls require) | TierGate / PgBouncer |",
        "| --- | ---: | ---: | ---: |",
        f"| TLS connects/s (pgbench -C -S, 8 clients) | {summary['pgbouncer']['connects_per_second']:,.0f} | "
        f"{summary['tiergate']['connects_per_second']:,.0f} | {ratio_connects:.2f} |",
        f"| TLS pgbench -S tps (16 clients) | {summary['pgbouncer']['persistent_tps']:,.0f} | "
        f"{summary['tiergate']['persistent_tps']:,.0f} | {summary['tiergate']['persistent_tps'] / summary['pgbouncer']['persistent_tps']:.2f} |",
        f"| proxy CPU per transaction, µs | {summary['pgbouncer']['cpu_us_per_transaction']:.1f} | "
        f"{summary['tiergate']['cpu_us_per_transaction']:.1f} | {ratio_cpu:.2f} |",
        "",
        "Targets: connects/s ratio >= 1, CPU per transaction ratio <= 0.8.",
    ]
    print("\n".join(lines))
    if not args.smoke:
        with open(os.path.join(BENCH_DIR, "results", "tls-latest.md"), "w") as out:
            out.write("\n".join(lines) + "\n")
        with open(os.path.join(BENCH_DIR, "results", "tls-latest.json"), "w") as out:
            json.dump({"runs": results, "summary": summary}, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
