"""Figures, the paths they are measured on, and the values of each repetition."""

import json
import math
import statistics
from dataclasses import dataclass

SPREAD_WARNING = 0.10  # warn when (max - min) / median exceeds this


@dataclass(frozen=True)
class Path:
    key: str
    label: str
    # Through TierGate with an org source: the client logs in as app.<org>, TierGate looks
    # the org's tier up, admits it through the gate and injects the tier's settings.
    gating: bool = False


DIRECT = Path("direct", "Direct Postgres")
PGBOUNCER = Path("pgbouncer", "PgBouncer (transaction pooling)")
TIERGATE = Path("tiergate", "TierGate → Postgres")
TIERGATE_PGBOUNCER = Path("tiergate_pgbouncer", "TierGate → PgBouncer")
TIERGATE_GATING = Path("tiergate_gating", "TierGate gating → Postgres", gating=True)
PATHS = (DIRECT, PGBOUNCER, TIERGATE, TIERGATE_PGBOUNCER, TIERGATE_GATING)
TIERGATE_PATHS = (TIERGATE, TIERGATE_GATING)  # the two the targets are reported for
PROXY_PATHS = PATHS[1:]


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    # A figure made by subtracting direct's value of the same repetition: its relative
    # spread says nothing (a small difference of two large numbers), so no warning.
    is_difference: bool = False
    # A figure made by dividing one path's value by another's of the same repetition
    # (proxy CPU vs PgBouncer's): shown in its own table, its spread not warned about
    # (the figures it divides are).
    is_ratio: bool = False


def _figures(*figures):
    return {f.key: f for f in figures}


FIGURES = _figures(
    Figure("select_simple_tps", "Select-only (pgbench -S), simple protocol", "tps", True),
    Figure("select_extended_tps", "Select-only (pgbench -S), extended protocol", "tps", True),
    Figure("tpcb_simple_tps", "TPC-B-like (pgbench default), simple protocol", "tps", True),
    Figure("tpcb_extended_tps", "TPC-B-like (pgbench default), extended protocol", "tps", True),
    Figure("churn_tps", "Connection churn (pgbench -S -C)", "tps", True),
    Figure("churn_connect_ms", "Connection churn: average connection time (pgbench -C)", "ms", False),
    Figure("query_p50_us", "Query latency p50 (1 client)", "µs", False),
    Figure("query_p99_us", "Query latency p99 (1 client)", "µs", False),
    Figure("connect_p50_us", "Connection latency p50 (connect → ReadyForQuery)", "µs", False),
    Figure("connect_p99_us", "Connection latency p99 (connect → ReadyForQuery)", "µs", False),
    Figure("copy_mb_per_s", "COPY … TO STDOUT throughput", "MB/s", True),
    Figure("query_p50_added_us", "Added query latency p50", "µs", False, is_difference=True),
    Figure("query_p99_added_us", "Added query latency p99", "µs", False, is_difference=True),
    Figure("connect_p50_added_us", "Added connection latency p50", "µs", False, is_difference=True),
    Figure("connect_p99_added_us", "Added connection latency p99", "µs", False, is_difference=True),
)

PERSISTENT_THROUGHPUT = ("select_simple_tps", "select_extended_tps", "tpcb_simple_tps", "tpcb_extended_tps")

# Proxy CPU per transaction: utime + stime of the process the client connects to, over
# one persistent-throughput pgbench run, divided by the transactions pgbench reports. Read
# around the throughput runs, so one figure per throughput figure, on the proxy paths.
PROXY_CPU = {tps: tps.replace("_tps", "_cpu_us") for tps in PERSISTENT_THROUGHPUT}
# TierGate's socket events served per Dispatch wake-up of its event loops over the same
# runs (from its /metrics): how much one wake-up batches.
EVENTS_PER_WAKEUP = {tps: tps.replace("_tps", "_events_per_wakeup") for tps in PERSISTENT_THROUGHPUT}


def _proxy_cpu_figures():
    for tps, cpu in PROXY_CPU.items():
        workload = FIGURES[tps].label
        yield Figure(cpu, f"Proxy CPU per transaction, {workload}", "µs/txn", False)
        # Per repetition: the path's CPU per transaction / PgBouncer's, gating's / the relay's.
        yield Figure(cpu + "_vs_pgbouncer", f"Proxy CPU vs PgBouncer's, {workload}", "×", False, is_ratio=True)
        yield Figure(cpu + "_vs_relay", f"Gating proxy CPU vs the relay's, {workload}", "×", False, is_ratio=True)
        yield Figure(EVENTS_PER_WAKEUP[tps], f"Socket events per event-loop wake-up, {workload}", "events", True)


FIGURES.update(_figures(*_proxy_cpu_figures()))


@dataclass
class Summary:
    median: float
    low: float
    high: float
    count: int

    @property
    def relative_spread(self):
        return (self.high - self.low) / abs(self.median) if self.median else 0.0


def summarize(values):
    return Summary(statistics.median(values), min(values), max(values), len(values))


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an already sorted list."""
    index = max(0, min(len(sorted_values) - 1, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


class Measurements:
    """values[figure][path] is the list of one value per repetition; memory[...] likewise
    for the idle-connection figures, which have their own shape (process x point); gate
    holds tiergate-gate-bench's figures as it reported them (one value per run)."""

    def __init__(self):
        self.values = {}
        self.memory = {}
        self.gate = []  # tiergate-gate-bench's "figures", in its order
        # Readings that are not figures but say what the figures are: the gating proxy's
        # lookups by cache layer during the timed connections, the idle-client counts the
        # memory step could hold, Postgres backends meanwhile, open descriptors.
        self.context = {}

    def gate_summary(self, figure):
        return summarize(figure["ns_per_decision_runs"])

    def add(self, figure, path, value):
        self.values.setdefault(figure, {}).setdefault(path, []).append(value)

    def add_memory(self, process, point, value):
        self.memory.setdefault(process, {}).setdefault(point, []).append(value)

    def summary(self, figure, path):
        values = self.values.get(figure, {}).get(path)
        return summarize(values) if values else None

    def memory_summary(self, process, point):
        values = self.memory.get(process, {}).get(point)
        return summarize(values) if values else None

    def noisy(self):
        """(figure, path, summary) for each figure whose spread is over SPREAD_WARNING."""
        found = []
        for key, by_path in self.values.items():
            if FIGURES[key].is_difference or FIGURES[key].is_ratio:
                continue
            for path, values in by_path.items():
                s = summarize(values)
                if s.count > 1 and s.relative_spread > SPREAD_WARNING:
                    found.append((key, path, s))
        for process, by_point in self.memory.items():
            for point, values in by_point.items():
                if point.endswith("_added_kb"):  # a difference of two readings, often near 0
                    continue
                s = summarize(values)
                if s.count > 1 and s.relative_spread > SPREAD_WARNING:
                    found.append((f"memory {process} {point}", "", s))
        for figure in self.gate:
            s = self.gate_summary(figure)
            if s.count > 1 and s.relative_spread > SPREAD_WARNING:
                found.append((f"gate decision {figure['key']}", "", s))
        return found

    def to_json(self):
        return json.dumps({"values": self.values, "memory": self.memory, "gate": self.gate,
                           "context": self.context}, indent=1)
