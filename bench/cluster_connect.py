#!/usr/bin/env python3
"""What the shared session count costs a connection (see README, Several instances).

    bench/cluster_connect.py --bin .build/release/tiergate [--samples 400] [--seconds 10]

1. Connect latency, TCP connect to the first ReadyForQuery (bench/lib/postgres_wire), on a
   gating proxy with the shared lease (`--redis`, one Lua script per admission) and on one
   with `--no-shared-counts`, both warm (the org's tier in the in-process cache, so no
   lookup): samples alternate between the two so load on the machine falls on both alike.
2. Connects per second across three instances sharing one Redis, clients spread round-robin
   over them, against one instance alone.

Uses the stack's services (TIERGATE_*_PORT) and an ENTERPRISE org of its own in
tiergate_test; prints one table. Not part of the tests: a short run on a shared machine
says how much, not how fast.
"""

import argparse
import atexit
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import postgres_wire  # noqa: E402
from bench_org import ensure_bench_org, write_tiers_without_connect_rate  # noqa: E402

HOST = "127.0.0.1"
PG = int(os.environ.get("TIERGATE_PG_PORT", "25432"))
REDIS = int(os.environ.get("TIERGATE_REDIS_PORT", "26379"))
MONGO = int(os.environ.get("TIERGATE_MONGO_PORT", "27117"))
ORG = "org_tiergate_cluster_bench"
DATABASE = "tiergate_test"
USER, PASSWORD = f"app.{ORG}", "app_pw"


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


STARTED = []


@atexit.register
def stop_started():
    """A run that fails half-way must not leave proxies behind: they would keep ticking the
    shared Redis (bursts, heartbeats) under the next tests and benchmarks."""
    for proxy in STARTED:
        if proxy.process.poll() is None:
            proxy.process.kill()


class Proxy:
    def __init__(self, binary, extra, log_dir):
        self.port = free_port()
        self.log = open(os.path.join(log_dir, f"tiergate-{self.port}.log"), "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", f"{HOST}:{self.port}", "--upstream", f"{HOST}:{PG}",
             "--mongo", f"mongodb://{HOST}:{MONGO}", "--log-level", "warning"] + extra,
            stdout=self.log, stderr=self.log, env={k: v for k, v in os.environ.items() if not k.startswith("TIERGATE_")})
        STARTED.append(self)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                postgres_wire.timed_connection(HOST, self.port, USER, PASSWORD, DATABASE)
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"tiergate on {self.port} did not come up")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=40)
        self.log.close()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def connects_per_second(ports, clients, seconds):
    done = [0] * clients
    failed = [0] * clients
    stop = time.time() + seconds

    def run(index):
        turn = index
        while time.time() < stop:
            try:
                postgres_wire.timed_connection(HOST, ports[turn % len(ports)], USER, PASSWORD, DATABASE)
                done[index] += 1
            except (OSError, postgres_wire.ServerError):
                failed[index] += 1
            turn += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / seconds, sum(failed)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    options = parser.parse_args()
    ensure_bench_org(MONGO, REDIS, ORG, DATABASE)
    with tempfile.TemporaryDirectory() as logs:
        tiers = write_tiers_without_connect_rate(options.bin, os.path.join(logs, "tiers.json"))
        redis = ["--redis", f"redis://{HOST}:{REDIS}", "--tiers", tiers]
        shared = Proxy(options.bin, redis, logs)
        alone = Proxy(options.bin, redis + ["--no-shared-counts"], logs)
        samples = {"shared": [], "alone": []}
        for _ in range(options.samples):
            for name, proxy in (("shared", shared), ("alone", alone)):
                samples[name].append(postgres_wire.timed_connection(HOST, proxy.port, USER, PASSWORD, DATABASE))
        alone.stop()
        single, single_failed = connects_per_second([shared.port], options.clients, options.seconds)
        others = [Proxy(options.bin, redis, logs) for _ in range(2)]
        three, three_failed = connects_per_second([shared.port] + [p.port for p in others], options.clients, options.seconds)
        for proxy in [shared] + others:
            proxy.stop()
    p50 = {name: percentile(values, 0.5) for name, values in samples.items()}
    p99 = {name: percentile(values, 0.99) for name, values in samples.items()}
    print(f"connect -> ReadyForQuery, {options.samples} samples each, µs (SCRAM login included)")
    print("| proxy | p50 | p99 |")
    print("| --- | ---: | ---: |")
    print(f"| gating, shared lease (--redis) | {p50['shared']:.0f} | {p99['shared']:.0f} |")
    print(f"| gating, --no-shared-counts | {p50['alone']:.0f} | {p99['alone']:.0f} |")
    print(f"| added by the lease | {p50['shared'] - p50['alone']:+.0f} | {p99['shared'] - p99['alone']:+.0f} |")
    print()
    print(f"connects/s, {options.clients} clients, {options.seconds:.0f} s, shared lease:"
          f" 1 instance {single:.0f} ({single_failed} failed), 3 instances {three:.0f} ({three_failed} failed)")


if __name__ == "__main__":
    main()
