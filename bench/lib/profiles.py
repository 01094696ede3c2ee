"""How big a run is: the full benchmark, or the few-seconds smoke run the tests use."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    repetitions: int
    database: str            # created by the benchmark, owned by app; pgbench tables live here
    pgbench_scale: int       # pgbench -i -s; at least the client count, so TPC-B clients rarely share a branch row
    clients: int             # pgbench -c for throughput and churn
    threads: int             # pgbench -j
    # A run lasts either `seconds` (pgbench -T) or `transactions` per client (pgbench -t).
    seconds: int | None
    transactions: int | None
    churn_transactions: int | None  # pgbench -C -t, when runs are counted in transactions
    query_samples: int       # timed queries per path and repetition (latency)
    connection_samples: int  # timed connections per path and repetition (latency)
    copy_megabytes: int      # size of the COPY TO STDOUT, in MB (10^6 bytes)
    idle_connections: tuple  # idle sessions held open for the memory figures
    settle_seconds: float    # pause before reading RSS, so the proxy has finished its work
    gate_runs: int           # tiergate-gate-bench --runs: timed runs per decision figure
    gate_scale: float        # tiergate-gate-bench --scale: its iterations per run, scaled

    def pgbench_length(self, churn=False):
        if self.seconds:
            return ["-T", str(self.seconds)]
        return ["-t", str(self.churn_transactions if churn else self.transactions)]


FULL = Profile(
    name="full", repetitions=3, database="tiergate_bench", pgbench_scale=16,
    clients=16, threads=2, seconds=8, transactions=None, churn_transactions=None,
    query_samples=3000, connection_samples=250, copy_megabytes=200,
    idle_connections=(5000, 10000), settle_seconds=2.0, gate_runs=7, gate_scale=1.0,
)

SMOKE = Profile(
    name="smoke", repetitions=1, database="tiergate_bench_smoke", pgbench_scale=1,
    clients=2, threads=1, seconds=None, transactions=20, churn_transactions=5,
    query_samples=50, connection_samples=5, copy_megabytes=2,
    idle_connections=(20, 50), settle_seconds=0.3, gate_runs=2, gate_scale=0.01,
)
