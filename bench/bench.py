#!/usr/bin/env python3
"""TierGate's benchmark: what the proxy costs, measured in one run against the alternatives.

Run it through bench/run.sh, which starts the stack, builds the binary and raises the
file-descriptor limit first. Every figure is measured on five paths, the paths
interleaved within each repetition (so a burst of load elsewhere on the machine hits
them alike), and each repetition's order rotated:

    direct Postgres | PgBouncer | TierGate -> Postgres | TierGate -> PgBouncer
    | TierGate gating -> Postgres (app.<bench org>: tier lookup, gate, injected settings)

and the gate's decision cost is measured apart by tiergate-gate-bench.

See bench/README.md for what each step measures and how.
"""

import argparse
import asyncio
import datetime
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import replace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

import postgres_wire  # noqa: E402
from bench_org import MAX_CONNECTIONS as BENCH_ORG_MAX_CONNECTIONS, TIER as BENCH_ORG_TIER  # noqa: E402
from bench_org import ensure_bench_org, org_id, write_tiers_without_connect_rate  # noqa: E402
from machine import NoiseSampler, machine_description, tool_versions  # noqa: E402
from measurements import (DIRECT, EVENTS_PER_WAKEUP, PATHS, PGBOUNCER, PROXY_CPU, PROXY_PATHS, TIERGATE,  # noqa: E402
                          TIERGATE_GATING, TIERGATE_PGBOUNCER, Measurements, percentile)
from pgbench_run import run_pgbench  # noqa: E402
from procfs import (CLOCK_TICKS, ProcError, command_name, cpu_ticks, listening_pid,  # noqa: E402
                    open_file_limit, open_files)
from profiles import FULL, SMOKE  # noqa: E402
from services import (APP_PASSWORD, APP_USER, HOST, BenchError, BenchPgBouncer,  # noqa: E402
                      TierGate, admin_command, psql)
import report  # noqa: E402

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))

# (figure, pgbench arguments, resets TPC-B tables first)
PERSISTENT_TESTS = (
    ("select_simple_tps", ["-S"], False),
    ("select_extended_tps", ["-S", "-M", "extended"], False),
    ("tpcb_simple_tps", [], True),
    ("tpcb_extended_tps", ["-M", "extended"], True),
)


class StepFailed(Exception):
    pass


def prune_raw_runs(raw_root, profile_name, keep=5):
    """Keep the raw outputs of the newest `keep` runs of this profile (the names sort by time)."""
    runs = sorted(d for d in os.listdir(raw_root) if d.startswith(profile_name + "-"))
    for old in runs[:-keep]:
        shutil.rmtree(os.path.join(raw_root, old), ignore_errors=True)


class BenchRun:
    def __init__(self, args):
        self.args = args
        self.profile = SMOKE if args.smoke else FULL
        if args.repetitions:
            self.profile = replace(self.profile, repetitions=args.repetitions)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.raw_dir = os.path.join(BENCH_DIR, "results", "raw", f"{self.profile.name}-{stamp}")
        os.makedirs(self.raw_dir, exist_ok=True)
        prune_raw_runs(os.path.dirname(self.raw_dir), self.profile.name)
        # The full run's report is committed; the smoke run's stays with its raw files.
        self.report_dir = self.raw_dir if args.smoke else os.path.join(BENCH_DIR, "results")
        self.pg_port, self.pgbouncer_port = args.pg_port, args.pgbouncer_port
        self.mongo_url = f"mongodb://{HOST}:{args.mongo_port}"
        self.redis_url = f"redis://{HOST}:{args.redis_port}"
        self.org = org_id(self.profile)
        self.gate_bench_note = None  # why the gate decision figures are missing, if they are
        self.measurements = Measurements()
        self.steps = []          # (name, ok, seconds, detail)
        self.retries = []        # (what, error)
        self.proxies = {}        # path key -> TierGate
        self.pgbouncer_pid = None  # the stack's PgBouncer, whose CPU is the PgBouncer path's
        self.admin_dir = None      # holds the gating proxy's admin socket
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.noise = NoiseSampler()

    # --- plumbing ----------------------------------------------------------------------

    def log(self, text):
        print(f"[bench] {text}", flush=True)

    def port(self, path):
        if path is DIRECT:
            return self.pg_port
        if path is PGBOUNCER:
            return self.pgbouncer_port
        return self.proxies[path.key].port

    def user(self, path):
        """The gating path logs in as app.<org>: TierGate runs the session upstream as app
        in the org's database (the benchmark's, see bench_org.py)."""
        return f"{APP_USER}.{self.org}" if path.gating else APP_USER

    def rotated(self, paths, repetition):
        k = repetition % len(paths)
        return paths[k:] + paths[:k]

    def raw(self, name):
        return os.path.join(self.raw_dir, name)

    def attempt(self, what, action):
        """Run one measurement; on failure check the proxies still run, then retry once.
        The shared machine's stack can be restarted by someone else's test; a proxy that
        died is a finding, not noise, so it is never retried."""
        try:
            return action()
        except (BenchError, OSError, EOFError, postgres_wire.ProtocolError, postgres_wire.ServerError,
                subprocess.TimeoutExpired) as error:
            for proxy in self.proxies.values():
                proxy.check_alive()
            self.log(f"retrying {what} once after: {error}")
            self.retries.append((what, str(error)))
            time.sleep(2)
            return action()

    def step(self, name, action, critical=False):
        self.log(f"step: {name}")
        start = time.monotonic()
        try:
            action()
        except Exception as error:  # a failed step is reported, and the run goes on
            seconds = time.monotonic() - start
            detail = f"{type(error).__name__}: {error}"
            self.steps.append((name, False, seconds, detail))
            self.log(f"FAILED {name}: {detail}")
            with open(self.raw("errors.log"), "a") as errors:
                errors.write(f"== {name}\n{traceback.format_exc()}\n")
            if critical:
                raise StepFailed(name) from error
            return False
        seconds = time.monotonic() - start
        self.steps.append((name, True, seconds, ""))
        self.log(f"ok {name} ({seconds:.1f} s)")
        return True

    # --- steps -------------------------------------------------------------------------

    def check_stack(self):
        self.server_version = psql(self.pg_port, "SHOW server_version")
        # Through PgBouncer, Postgres reports its own port: proves PgBouncer fronts the
        # Postgres we measure directly (the shared machine may run other Postgres servers).
        served_by = psql(self.pgbouncer_port, "SELECT inet_server_port()", user=APP_USER)
        if int(served_by) != self.pg_port:
            raise BenchError(f"PgBouncer on {self.pgbouncer_port} relays to Postgres on port {served_by}, "
                             f"not {self.pg_port}; set TIERGATE_PG_PORT/TIERGATE_PGBOUNCER_PORT to one stack")
        try:
            self.pgbouncer_version = psql(self.pgbouncer_port, "SHOW VERSION", database="pgbouncer")
        except BenchError:
            self.pgbouncer_version = None
        self.max_connections = int(psql(self.pg_port, "SHOW max_connections"))
        self.find_pgbouncer_pid()

    def find_pgbouncer_pid(self):
        """The stack's PgBouncer process, found by its listening port (stack.sh's pid file is
        not there with --no-stack-up): its CPU is what the PgBouncer path costs. Without it
        the proxy CPU figures have no PgBouncer to compare with, but the run goes on."""
        pid = listening_pid(self.pgbouncer_port)
        self.pgbouncer_pid = pid if pid and command_name(pid) == "pgbouncer" else None
        if not self.pgbouncer_pid:
            self.log(f"  warning: no pgbouncer process found listening on {self.pgbouncer_port}; "
                     "its CPU per transaction is not measured")
        return self.pgbouncer_pid

    def proxy_pid(self, path):
        """The process a client of `path` connects to, whose CPU is the path's proxy CPU
        (for TierGate -> PgBouncer: TierGate's own); None on the direct path."""
        if path is DIRECT:
            return None
        if path is PGBOUNCER:
            if self.pgbouncer_pid and not os.path.exists(f"/proc/{self.pgbouncer_pid}"):
                self.find_pgbouncer_pid()  # restarted by someone's test since
            return self.pgbouncer_pid
        return self.proxies[path.key].pid

    def prepare_data(self):
        db = self.profile.database
        exists = psql(self.pg_port, f"SELECT 1 FROM pg_database WHERE datname = '{db}'")
        if not exists:
            psql(self.pg_port, f'CREATE DATABASE "{db}" OWNER {APP_USER}')
        scale = 0
        if psql(self.pg_port, "SELECT to_regclass('pgbench_branches') IS NOT NULL", database=db) == "t":
            scale = int(psql(self.pg_port, "SELECT count(*) FROM pgbench_branches", database=db))
        if scale != self.profile.pgbench_scale:
            self.log(f"pgbench -i -s {self.profile.pgbench_scale} {db}")
            env = dict(os.environ, PGPASSWORD=APP_PASSWORD)
            with open(self.raw("pgbench-init.log"), "w") as log:
                subprocess.run(["pgbench", "-i", "-q", "-s", str(self.profile.pgbench_scale), "-h", HOST,
                                "-p", str(self.pg_port), "-U", APP_USER, db],
                               stdout=log, stderr=subprocess.STDOUT, env=env, check=True, timeout=600)
        # COPY source: rows of about 1,000 bytes of text each, so COPY's output is ~N MB.
        self.copy_table = f"bench_copy_{self.profile.copy_megabytes}mb"
        rows = self.profile.copy_megabytes * 1000
        psql(self.pg_port, f"CREATE TABLE IF NOT EXISTS {self.copy_table} AS "
                           f"SELECT g AS id, repeat(md5(g::text), 31) AS payload "
                           f"FROM generate_series(1, {rows}) AS g", user=APP_USER, database=db)
        psql(self.pg_port, f"VACUUM ANALYZE {self.copy_table}", user=APP_USER, database=db)

    def start_proxies(self):
        binary, db = self.args.tiergate, self.profile.database
        self.proxies[TIERGATE.key] = TierGate(binary, self.pg_port, self.raw("tiergate-postgres.log"), db)
        self.proxies[TIERGATE_PGBOUNCER.key] = TierGate(binary, self.pgbouncer_port,
                                                        self.raw("tiergate-pgbouncer.log"), db)
        # Gating as in production: MongoDB the source of truth, Redis the shared cache, the
        # in-process cache at its default freshness (5 s).
        if self.profile.clients + 1 > BENCH_ORG_MAX_CONNECTIONS:  # pgbench's clients + the latency client
            raise BenchError(f"{self.profile.clients} clients do not fit the bench org's "
                             f"{BENCH_ORG_TIER} ceiling of {BENCH_ORG_MAX_CONNECTIONS}")
        ensure_bench_org(self.args.mongo_port, self.args.redis_port, self.org, db)
        # Its admin socket tells which cache layer answered the lookups (SHOW STATS). A short
        # path of its own: a Unix socket's path holds at most 107 bytes.
        self.admin_dir = tempfile.mkdtemp(prefix="tiergate-bench-")
        self.gating_admin_socket = os.path.join(self.admin_dir, "admin.sock")
        self.proxies[TIERGATE_GATING.key] = TierGate(
            binary, self.pg_port, self.raw("tiergate-gating.log"), db,
            org_source=["--mongo", self.mongo_url, "--redis", self.redis_url, "--tiers",
                        write_tiers_without_connect_rate(binary, os.path.join(self.admin_dir, "tiers.json"))],
            user=self.user(TIERGATE_GATING), extra_args=["--admin-socket", self.gating_admin_socket])

    def gating_lookups(self):
        """The gating proxy's tier lookups so far, by the layer that answered (SHOW STATS)."""
        stats = admin_command(self.gating_admin_socket, "SHOW STATS")
        cache = stats["cache"]
        return {"in_process_hits": cache["inProcess"]["hits"], "in_process_misses": cache["inProcess"]["misses"],
                "redis_hits": cache["redis"]["hits"], "source_lookups": stats["lookups"]["source"]}

    def reset_tpcb(self):
        # What pgbench itself does before a run without -n; done on the direct path so
        # every path starts from the same table state.
        db = self.profile.database
        for sql in ("VACUUM pgbench_branches", "VACUUM pgbench_tellers", "TRUNCATE pgbench_history"):
            psql(self.pg_port, sql, user=APP_USER, database=db)

    def measure_persistent_throughput(self):
        """pgbench per path; around each run, the CPU time (utime + stime) of the process
        the clients connect to, so proxy CPU per transaction = CPU time / transactions."""
        p = self.profile
        for rep in range(p.repetitions):
            for figure, extra, tpcb in PERSISTENT_TESTS:
                cpu_per_transaction = {}  # path key -> µs, this repetition
                for path in self.rotated(PATHS, rep):
                    def once():
                        if tpcb:
                            self.reset_tpcb()
                        pid = self.proxy_pid(path)
                        tiergate = self.proxies.get(path.key)
                        loops_before = tiergate.loop_counters() if tiergate else None
                        try:
                            before = cpu_ticks(pid) if pid else None
                            summary = run_pgbench(self.port(path), p.database,
                                                  ["-n", "-c", str(p.clients), "-j", str(p.threads),
                                                   *p.pgbench_length(), *extra],
                                                  self.raw(f"{figure}-{path.key}-rep{rep + 1}.log"),
                                                  user=self.user(path))
                            ticks = cpu_ticks(pid) - before if pid else None
                        except ProcError as error:  # the proxy restarted during the run: not this run's CPU
                            raise BenchError(f"proxy CPU of {path.key}: {error}") from error
                        batching = None
                        if loops_before:
                            wakeups, events = (after - before for after, before
                                               in zip(tiergate.loop_counters(), loops_before))
                            batching = events / wakeups if wakeups else None
                        return summary, ticks, batching
                    summary, ticks, batching = self.attempt(f"{figure} {path.key} rep {rep + 1}", once)
                    if batching is not None:
                        self.measurements.add(EVENTS_PER_WAKEUP[figure], path.key, batching)
                    self.measurements.add(figure, path.key, summary.tps)
                    line = f"  rep {rep + 1} {figure:20} {path.key:20} {summary.tps:10.0f} tps"
                    if ticks is not None:
                        micros = ticks / CLOCK_TICKS * 1e6 / summary.transactions
                        cpu_per_transaction[path.key] = micros
                        self.measurements.add(PROXY_CPU[figure], path.key, micros)
                        # Kept to judge the resolution: one tick more or less is 1/ticks of the figure.
                        self.measurements.context.setdefault("cpu_ticks", {}).setdefault(
                            PROXY_CPU[figure], {}).setdefault(path.key, []).append(ticks)
                        line += (f", proxy CPU {micros:7.1f} µs/txn "
                                 f"({ticks} ticks of 1/{CLOCK_TICKS} s, {summary.transactions:,} txn)")
                    if batching is not None:
                        line += f", {batching:.1f} socket events per loop wake-up"
                    self.log(line)
                self.add_cpu_ratios(PROXY_CPU[figure], cpu_per_transaction)

    def add_cpu_ratios(self, figure, micros):
        """Ratios inside one repetition (the paths ran back to back, so a load elsewhere on
        the machine weighs on them alike): each path's CPU per transaction / PgBouncer's, and
        the gating proxy's / the relay's. Skipped when the divisor counted no tick."""
        bouncer, relay, gating = (micros.get(k) for k in (PGBOUNCER.key, TIERGATE.key, TIERGATE_GATING.key))
        for key, value in micros.items():
            if key != PGBOUNCER.key and bouncer:
                self.measurements.add(figure + "_vs_pgbouncer", key, value / bouncer)
        if gating is not None and relay:
            self.measurements.add(figure + "_vs_relay", TIERGATE_GATING.key, gating / relay)

    def measure_churn(self):
        p = self.profile
        for rep in range(p.repetitions):
            for path in self.rotated(PATHS, rep):
                summary = self.attempt(f"churn {path.key} rep {rep + 1}", lambda: run_pgbench(
                    self.port(path), p.database,
                    ["-n", "-S", "-C", "-c", str(p.clients), "-j", str(p.threads), *p.pgbench_length(churn=True)],
                    self.raw(f"churn-{path.key}-rep{rep + 1}.log"), user=self.user(path)))
                self.measurements.add("churn_tps", path.key, summary.tps)
                if summary.average_connection_ms is None:
                    raise BenchError("pgbench -C printed no average connection time")
                self.measurements.add("churn_connect_ms", path.key, summary.average_connection_ms)
                self.log(f"  rep {rep + 1} churn {path.key:20} {summary.tps:8.0f} tps, "
                         f"{summary.average_connection_ms:.2f} ms/connection")

    def measure_latency(self):
        """Added latency, from a client of our own (lib/postgres_wire.py), one request at
        a time: per query, the pgbench -S statement as a simple Query on a held session,
        from send to ReadyForQuery; per connection, TCP connect to the first
        ReadyForQuery, SCRAM included. The paths take turns sample by sample."""
        p = self.profile
        accounts = p.pgbench_scale * 100000
        db = self.profile.database
        for rep in range(p.repetitions):
            order = self.rotated(PATHS, rep)
            def queries():
                sessions = {path.key: postgres_wire.BlockingSession(HOST, self.port(path), self.user(path),
                                                                     APP_PASSWORD, db) for path in order}
                try:
                    samples = {path.key: [] for path in order}
                    for i in range(p.query_samples + 100):  # the first 100 warm caches, not kept
                        sql = f"SELECT abalance FROM pgbench_accounts WHERE aid = {random.randint(1, accounts)}"
                        for path in order:
                            elapsed = postgres_wire.timed_query(sessions[path.key], sql)
                            if i >= 100:
                                samples[path.key].append(elapsed)
                    return samples
                finally:
                    for session in sessions.values():
                        session.close()
            def connections():
                # One untimed connection per path first: the gating proxy then holds the
                # org's tier in its in-process cache, so its samples time a cache hit (an
                # org that connects often), and every path starts warm alike.
                for path in order:
                    postgres_wire.timed_connection(HOST, self.port(path), self.user(path), APP_PASSWORD, db)
                before = self.gating_lookups()
                samples = {path.key: [] for path in order}
                for _ in range(p.connection_samples):
                    for path in order:
                        samples[path.key].append(postgres_wire.timed_connection(
                            HOST, self.port(path), self.user(path), APP_PASSWORD, db))
                # Which layer answered the timed connections' lookups: the in-process entry
                # stays fresh 5 s, so a run of samples longer than that has a few Redis hits.
                after = self.gating_lookups()
                lookups = {k: after[k] - before[k] for k in after}
                self.measurements.context.setdefault("connect_lookups", {})[str(rep + 1)] = lookups
                self.log(f"  rep {rep + 1} gating lookups during the timed connections: " + ", ".join(
                    f"{k.replace('_', ' ')} {v}" for k, v in lookups.items()))
                return samples
            for kind, action in (("query", queries), ("connect", connections)):
                samples = self.attempt(f"{kind} latency rep {rep + 1}", action)
                with open(self.raw(f"{kind}-latency-rep{rep + 1}.tsv"), "w") as out:
                    out.write("path\tmicroseconds\n")
                    for key, values in samples.items():
                        out.writelines(f"{key}\t{v:.1f}\n" for v in values)
                quantiles = {}
                for key, values in samples.items():
                    values.sort()
                    quantiles[key] = (percentile(values, 0.50), percentile(values, 0.99))
                    self.measurements.add(f"{kind}_p50_us", key, quantiles[key][0])
                    self.measurements.add(f"{kind}_p99_us", key, quantiles[key][1])
                for path in PROXY_PATHS:
                    for i, q in enumerate(("p50", "p99")):
                        self.measurements.add(f"{kind}_{q}_added_us", path.key,
                                              quantiles[path.key][i] - quantiles[DIRECT.key][i])
                self.log(f"  rep {rep + 1} {kind} p50/p99 µs: " + ", ".join(
                    f"{k} {v[0]:.0f}/{v[1]:.0f}" for k, v in quantiles.items()))

    def copy_command(self, path):
        return ["psql", "-X", "-q", "-h", HOST, "-p", str(self.port(path)), "-U", self.user(path),
                "-d", self.profile.database, "-c", f"COPY {self.copy_table} TO STDOUT"]

    def measure_copy(self):
        env = dict(os.environ, PGPASSWORD=APP_PASSWORD)
        # Warm-up on the direct path: reads the table into cache and counts the bytes.
        process = subprocess.Popen(self.copy_command(DIRECT), stdout=subprocess.PIPE, env=env)
        self.copy_bytes = 0
        while chunk := process.stdout.read(1 << 20):
            self.copy_bytes += len(chunk)
        if process.wait() != 0 or self.copy_bytes == 0:
            raise BenchError("warm-up COPY failed")
        for rep in range(self.profile.repetitions):
            for path in self.rotated(PATHS, rep):
                def once():
                    start = time.perf_counter()
                    result = subprocess.run(self.copy_command(path), stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE, text=True, env=env, timeout=600)
                    elapsed = time.perf_counter() - start
                    if result.returncode != 0:
                        raise BenchError(f"COPY through {path.key} failed: {result.stderr.strip()}")
                    return elapsed
                elapsed = self.attempt(f"copy {path.key} rep {rep + 1}", once)
                rate = self.copy_bytes / 1e6 / elapsed
                self.measurements.add("copy_mb_per_s", path.key, rate)
                self.log(f"  rep {rep + 1} COPY {path.key:20} {rate:8.1f} MB/s")

    def measure_gate_decisions(self):
        """tiergate-gate-bench: ns per admission decision, in process (gate, in-process
        cache) and against the stack's Redis and MongoDB, for the benchmark's org. Runs
        alone (the proxies are stopped), so it competes only with other people's work."""
        binary = self.args.gate_bench
        if not binary:
            self.gate_bench_note = ("not measured: no tiergate-gate-bench binary "
                                    "(bench/run.sh builds one, or pass --gate-bench PATH)")
            self.log(f"  {self.gate_bench_note}")
            return
        p = self.profile
        argv = [binary, "--mongo", self.mongo_url, "--redis", self.redis_url, "--org", self.org,
                "--runs", str(p.gate_runs), "--scale", str(p.gate_scale)]
        def once():
            result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
            with open(self.raw("gate-bench.log"), "w") as log:
                log.write("$ " + " ".join(argv) + "\n" + result.stdout + result.stderr)
            if result.returncode != 0:
                raise BenchError(f"tiergate-gate-bench exited with {result.returncode}: "
                                 f"{result.stderr.strip()[-300:]}")
            return json.loads(result.stdout.strip().splitlines()[-1])
        report = self.attempt("gate decisions", once)
        self.gate_bench_binary = binary
        self.measurements.gate = report["figures"]
        for figure in report["figures"]:
            s = self.measurements.gate_summary(figure)
            self.log(f"  {figure['label']:60} {s.median:12,.0f} ns ({s.low:,.0f}–{s.high:,.0f})")

    def measure_memory(self):
        """RSS of a fresh TierGate (and of the PgBouncer behind it) idle, then holding N idle
        sessions for each N of the profile, then after they all closed; then a second wave
        of as many sessions as the first's largest, held and closed, to see whether the
        proxy reuses what the first wave grew it to."""
        p = self.profile
        most = max(p.idle_connections)
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < most + 200:  # this client: one descriptor per session
            raise BenchError(f"open-file limit {soft} is below {most + 200} (run through bench/run.sh)")
        for rep in range(p.repetitions):
            # Both fresh each repetition: an allocator keeps what it once grew to, so a
            # reused process would start the next repetition from a higher baseline.
            bouncer = BenchPgBouncer(self.raw(f"pgbouncer-idle-rep{rep + 1}"), self.pg_port, most + 100,
                                     self.raw(f"pgbouncer-idle-rep{rep + 1}.log"), p.database)
            try:
                proxy = TierGate(self.args.tiergate, bouncer.port,
                                 self.raw(f"tiergate-idle-rep{rep + 1}.log"), p.database, ready="port")
                # Not retried: a second try would start from a proxy that is no longer fresh.
                try:
                    counts = self.idle_counts(proxy)
                    asyncio.run(self._hold_idle_sessions(proxy, bouncer, rep, counts))
                finally:
                    proxy.stop()
            finally:
                bouncer.stop()

    # Descriptors TierGate may need besides two per session (listener, event loops, log,
    # a connect in flight): kept free when the open-file limit caps the client count.
    FD_HEADROOM = 64

    def idle_counts(self, proxy):
        """The profile's idle-client counts, each capped at what TierGate's open-file limit
        holds: two descriptors per session (the client's socket and the upstream one). A cap
        (a machine that cannot raise the hard limit, e.g. without CAP_SYS_RESOURCE) is
        logged and reported next to the figures, never hidden."""
        wanted = tuple(sorted(self.profile.idle_connections))
        limit = open_file_limit(proxy.pid)
        room = wanted[-1] if limit is None else (limit - open_files(proxy.pid) - self.FD_HEADROOM) // 2
        if room >= wanted[-1]:
            counts, note = wanted, None
        else:
            cap = room // 100 * 100 if room >= 100 else room
            counts = tuple(sorted({min(c, cap) for c in wanted}))
            note = (f"{wanted[-1]:,} idle clients do not fit TierGate's open-file limit of {limit:,} "
                    f"(2 descriptors per client; the hard limit could not be raised): measured at {cap:,} instead")
            self.log(f"  warning: {note}")
        self.measurements.context["idle_counts"] = list(counts)
        self.measurements.context["idle_counts_note"] = note
        return counts

    def postgres_backends(self):
        """Client backends in the benchmark's database (the stack PgBouncer's pooled server
        connections from the earlier steps included): read before the clients and while
        they are held, the difference is what the idle sessions cost Postgres."""
        return int(psql(self.pg_port, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                      f"'{self.profile.database}' AND backend_type = 'client backend'"))

    async def _hold_idle_sessions(self, proxy, bouncer, rep, counts):
        p = self.profile
        processes = {"tiergate": proxy, "pgbouncer": bouncer}

        def reading():
            return {name: process.rss_kb() for name, process in processes.items()}

        def descriptors():
            return {name: open_files(process.pid) for name, process in processes.items()}

        await asyncio.sleep(p.settle_seconds)
        readings = {"idle": reading()}
        idle_fds = descriptors()
        backends = {"idle": self.postgres_backends()}
        fds = {"idle": idle_fds}
        gate = asyncio.Semaphore(64)  # connects in flight; stays under listen backlogs

        async def open_one():
            async with gate:
                return await postgres_wire.open_idle_session(HOST, proxy.port, APP_USER, APP_PASSWORD,
                                                             p.database)

        async def open_until(sessions, count):
            results = await asyncio.gather(*(open_one() for _ in range(count - len(sessions))),
                                           return_exceptions=True)
            sessions += [r for r in results if not isinstance(r, BaseException)]
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                raise BenchError(f"{len(errors)} of {len(results)} idle sessions failed to open: {errors[0]!r}")

        async def close_all(sessions):
            """Close every session, then wait (30 s at most) until both processes are back to
            their idle descriptor count, so the next wave finds the descriptors free."""
            await asyncio.gather(*(postgres_wire.close_idle_session(s) for s in sessions),
                                 return_exceptions=True)
            sessions.clear()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(
                    n > idle_fds[name] + 2 for name, n in descriptors().items()):
                await asyncio.sleep(0.1)
            await asyncio.sleep(p.settle_seconds)

        # First wave: up to each count in turn, all held idle, then all closed.
        sessions = []
        try:
            for count in counts:
                await open_until(sessions, count)
                await asyncio.sleep(p.settle_seconds)
                readings[count] = reading()
            fds["first_wave"] = descriptors()
            backends["held"] = self.postgres_backends()
        finally:
            await close_all(sessions)
        readings["closed"] = reading()
        fds["first_wave_closed"] = descriptors()
        # Second wave: as many sessions as the first's largest count, opened after the
        # first closed. A proxy that reuses what it freed stays near the first wave's peak.
        most = counts[-1]
        try:
            await open_until(sessions, most)
            await asyncio.sleep(p.settle_seconds)
            readings["wave2"] = reading()
        finally:
            await close_all(sessions)
        readings["wave2_closed"] = reading()
        fds["second_wave_closed"] = descriptors()

        for point, by_process in readings.items():
            for process, kb in by_process.items():
                self.measurements.add_memory(process, f"rss_{point}", kb)
        for process, idle in readings["idle"].items():
            for count in counts:
                self.measurements.add_memory(process, f"kb_per_connection_{count}",
                                             (readings[count][process] - idle) / count)
            self.measurements.add_memory(process, "kb_per_connection_wave2",
                                         (readings["wave2"][process] - idle) / most)
            self.measurements.add_memory(process, "wave2_peak_added_kb",
                                         readings["wave2"][process] - readings[most][process])
            self.measurements.add_memory(process, "wave2_closed_added_kb",
                                         readings["wave2_closed"][process] - readings["closed"][process])
        context = self.measurements.context
        context.setdefault("idle_postgres_backends", []).append(backends)
        context.setdefault("idle_open_files", []).append(fds)
        self.log(f"  rep {rep + 1} RSS kB: " + "; ".join(
            f"{point}: tiergate {r['tiergate']}, pgbouncer {r['pgbouncer']}" for point, r in readings.items()))
        self.log(f"  rep {rep + 1} Postgres client backends in {p.database}: {backends['idle']} before the "
                 f"clients, {backends['held']} with {most:,} idle clients; "
                 "open files: " + "; ".join(f"{point}: tiergate {f['tiergate']}, pgbouncer {f['pgbouncer']}"
                                             for point, f in fds.items()))

    # --- the run -----------------------------------------------------------------------

    def execute(self):
        self.noise.start()
        try:
            self.step("stack", self.check_stack, critical=True)
            self.step("data", self.prepare_data, critical=True)
            self.step("proxies", self.start_proxies, critical=True)
            self.step("throughput (persistent connections)", self.measure_persistent_throughput)
            self.step("connection churn", self.measure_churn)
            self.step("latency", self.measure_latency)
            self.step("copy", self.measure_copy)
        except StepFailed:
            pass
        finally:
            for proxy in self.proxies.values():
                proxy.stop()
            if self.admin_dir:
                shutil.rmtree(self.admin_dir, ignore_errors=True)
        if all(ok for _, ok, _, _ in self.steps[:3]):
            self.step("gate decision cost", self.measure_gate_decisions)
            self.step("memory (idle connections)", self.measure_memory)
        self.noise.stop()
        self.finished = datetime.datetime.now(datetime.timezone.utc)
        with open(self.raw("measurements.json"), "w") as out:
            out.write(self.measurements.to_json())
        self.step("report", self.write_report)
        self.step("chart", self.write_chart)

    def write_report(self):
        for figure, path, s in self.measurements.noisy():
            print(f"warning: spread over 10% for {figure} {path}: {s.low:.1f}–{s.high:.1f} "
                  f"(median {s.median:.1f}, {100 * s.relative_spread:.0f}%)", file=sys.stderr)
        context = report.ReportContext(
            profile=self.profile, started=self.started, finished=self.finished,
            machine=machine_description(), versions=tool_versions(),
            server_version=getattr(self, "server_version", "unknown"),
            pgbouncer_version=getattr(self, "pgbouncer_version", None),
            tiergate_commit=self.args.commit, tiergate_binary=self.args.tiergate,
            noise=self.noise.summary(), steps=self.steps, retries=self.retries,
            measurements=self.measurements, raw_dir=os.path.relpath(self.raw_dir, os.path.dirname(BENCH_DIR)),
            copy_bytes=getattr(self, "copy_bytes", None),
            ports={"postgres": self.pg_port, "pgbouncer": self.pgbouncer_port,
                   "mongo": self.args.mongo_port, "redis": self.args.redis_port},
            org=self.org, org_tier=BENCH_ORG_TIER,
            gate_bench_binary=getattr(self, "gate_bench_binary", None), gate_bench_note=self.gate_bench_note,
            readme_link=os.path.relpath(os.path.join(BENCH_DIR, "README.md"), self.report_dir),
        )
        self.report_path = os.path.join(self.report_dir, "latest.md")
        with open(self.report_path, "w") as out:
            out.write(report.markdown(context))
        self.log(f"report: {self.report_path}")

    def write_chart(self):
        path = os.path.join(self.report_dir, "chart.png")
        report.chart(self.measurements, path, self.profile)
        self.log(f"chart: {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds, 1 repetition, tiny counts")
    parser.add_argument("--repetitions", type=int, help="override the profile's repetitions")
    parser.add_argument("--tiergate", required=True, help="path of the tiergate binary")
    parser.add_argument("--commit", default="unknown", help="commit the binary was built from")
    parser.add_argument("--pg-port", type=int, required=True)
    parser.add_argument("--pgbouncer-port", type=int, required=True)
    parser.add_argument("--mongo-port", type=int, required=True, help="the stack's MongoDB (gating path)")
    parser.add_argument("--redis-port", type=int, required=True, help="the stack's Redis (gating path)")
    parser.add_argument("--gate-bench", help="path of tiergate-gate-bench; without it the gate decision "
                                             "figures are reported as not measured")
    args = parser.parse_args()

    run = BenchRun(args)
    run.log(f"{run.profile.name} run, raw outputs in {run.raw_dir}")
    run.execute()
    failed = [name for name, ok, _, _ in run.steps if not ok]
    expected = 11
    if len(run.steps) < expected and not failed:
        failed = ["(steps skipped)"]
    if args.smoke:
        print("bench smoke: OK" if not failed else f"bench smoke: FAILED ({', '.join(failed)})")
    else:
        print("bench: OK" if not failed else f"bench: FAILED ({', '.join(failed)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
