"""The results file (Markdown) and its chart (PNG, matplotlib)."""

import os
from dataclasses import dataclass

from measurements import (DIRECT, EVENTS_PER_WAKEUP, FIGURES, PATHS, PERSISTENT_THROUGHPUT, PGBOUNCER, PROXY_CPU, PROXY_PATHS,
                          SPREAD_WARNING, TIERGATE, TIERGATE_GATING, TIERGATE_PATHS, TIERGATE_PGBOUNCER)
from procfs import CLOCK_TICKS

# Targets: reported as where we stand, never asserted.
TARGET_SHARE_OF_DIRECT = 0.90
TARGET_ADDED_CONNECT_P50_US = 300.0
TARGET_KB_PER_IDLE_CONNECTION = 3.0
TARGET_RELAY_CPU_VS_PGBOUNCER = 0.8   # relay's proxy CPU per transaction, at most this × PgBouncer's
TARGET_GATING_CPU_VS_RELAY = 1.1      # gating's proxy CPU per transaction, at most this × the relay's
# Below this many clock ticks in a run, one tick more or less moves the CPU figure by over
# 5%: too coarse to say whether a CPU target is met (the smoke run's few transactions).
MIN_CPU_TICKS = 20


@dataclass
class ReportContext:
    profile: object
    started: object
    finished: object
    machine: dict
    versions: dict
    server_version: str
    pgbouncer_version: str | None
    tiergate_commit: str
    tiergate_binary: str
    noise: dict | None
    steps: list
    retries: list
    measurements: object
    raw_dir: str
    copy_bytes: int | None
    ports: dict
    readme_link: str
    org: str
    org_tier: str
    gate_bench_binary: str | None
    gate_bench_note: str | None


def number(value, unit):
    if value is None:
        return "—"
    if unit in ("tps", "µs", "ns") or abs(value) >= 1000:
        return f"{value:,.0f}"
    if unit == "ms":
        return f"{value:.2f}"
    return f"{value:,.1f}"


def ratio(a, b):
    if a is None or b is None or not b.median:
        return "—"
    return f"{a.median / b.median:.2f}×"


def spread(summary, unit, warn=True):
    if summary.count < 2:
        return "1 run"
    text = f"{number(summary.low, unit)}–{number(summary.high, unit)}"
    if warn and summary.median:
        text += f" ({100 * summary.relative_spread:.0f}%)"
        if summary.relative_spread > SPREAD_WARNING:
            text += " ⚠"
    return text


CPU_FIGURES = frozenset(PROXY_CPU.values())


def idle_counts(c):
    """The idle-client counts the memory step held (the profile's, unless the open-file
    limit capped them), and the note saying why, if it did."""
    context = c.measurements.context
    return tuple(context.get("idle_counts") or c.profile.idle_connections), context.get("idle_counts_note")


def main_table(m):
    rows = ["| Figure | Path | Median | Spread (min–max) | vs direct | vs PgBouncer |",
            "| --- | --- | ---: | --- | ---: | ---: |"]
    for key, figure in FIGURES.items():
        if figure.is_difference or figure.is_ratio or key in CPU_FIGURES or key not in m.values:
            continue
        direct, bouncer = m.summary(key, DIRECT.key), m.summary(key, PGBOUNCER.key)
        for path in PATHS:
            s = m.summary(key, path.key)
            if not s:
                continue
            rows.append(f"| {figure.label}, {figure.unit} | {path.label} | **{number(s.median, figure.unit)}** "
                        f"| {spread(s, figure.unit)} | {ratio(s, direct)} | {ratio(s, bouncer)} |")
    return "\n".join(rows)


def added_latency_table(m):
    keys = ("query_p50_added_us", "query_p99_added_us", "connect_p50_added_us", "connect_p99_added_us")
    rows = ["| Path | " + " | ".join(FIGURES[k].label + ", µs" for k in keys) + " |",
            "| --- |" + " ---: |" * len(keys)]
    for path in PROXY_PATHS:
        cells = []
        for key in keys:
            s = m.summary(key, path.key)
            if not s:
                cells.append("—")
            elif s.count < 2:
                cells.append(f"**{s.median:+,.0f}**")
            else:
                cells.append(f"**{s.median:+,.0f}** ({s.low:+,.0f} to {s.high:+,.0f})")
        rows.append(f"| {path.label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def memory_table(m, counts):
    if not m.memory:
        return "_Not measured (the step failed; see the steps below)._"
    most = max(counts)
    names = {"rss_idle": "RSS idle, kB",
             **{f"rss_{c}": f"RSS with {c:,} idle clients (first wave), kB" for c in counts},
             "rss_closed": "RSS after the first wave closed, kB",
             "rss_wave2": f"RSS with {most:,} idle clients again (second wave), kB",
             "rss_wave2_closed": "RSS after the second wave closed, kB"}
    rows = ["| Figure | TierGate | PgBouncer (same clients, behind TierGate) | TierGate vs PgBouncer |",
            "| --- | ---: | ---: | ---: |"]
    for point, name in names.items():
        t, b = m.memory_summary("tiergate", point), m.memory_summary("pgbouncer", point)
        if t and b:
            rows.append(f"| {name} | **{number(t.median, 'kB')}** · {spread(t, 'kB')} "
                        f"| {number(b.median, 'kB')} · {spread(b, 'kB')} | {ratio(t, b)} |")
    per_client = {**{f"kb_per_connection_{c}": f"kB per idle client, {c:,} clients (first wave)" for c in counts},
                  "kb_per_connection_wave2": f"kB per idle client, {most:,} clients (second wave, from RSS idle)"}
    for point, name in per_client.items():
        t, b = m.memory_summary("tiergate", point), m.memory_summary("pgbouncer", point)
        if t and b:
            rows.append(f"| {name} | **{t.median:.1f}** · {spread(t, 'kB/c', warn=False)} "
                        f"| {b.median:.1f} · {spread(b, 'kB/c', warn=False)} | {ratio(t, b)} |")
    added = {"wave2_peak_added_kb": "Second wave adds: its peak − the first wave's peak, kB",
             "wave2_closed_added_kb": "Second wave leaves: after it closed − after the first closed, kB"}
    for point, name in added.items():
        t, b = m.memory_summary("tiergate", point), m.memory_summary("pgbouncer", point)
        if t and b:
            rows.append(f"| {name} | **{t.median:+,.0f}** · {signed_spread(t)} "
                        f"| {b.median:+,.0f} · {signed_spread(b)} | — |")
    return "\n".join(rows)


def signed_spread(summary):
    return "1 run" if summary.count < 2 else f"{summary.low:+,.0f} to {summary.high:+,.0f}"


def memory_notes(m, counts, note):
    lines = []
    if note:
        lines.append(f"- **Fewer clients than the profile asks for:** {note}.")
    backends = m.context.get("idle_postgres_backends")
    if backends:
        lines.append(f"- Postgres client backends in the benchmark's database before the clients → with "
                     f"{max(counts):,} idle clients (per repetition; the stack PgBouncer's pooled connections "
                     "included): " + ", ".join(f"{b['idle']} → {b['held']}" for b in backends)
                     + ". The benchmark's PgBouncer pools transactions, so an idle client holds no server "
                     "connection and Postgres' `max_connections` does not bound the client count.")
    for i, fds in enumerate(m.context.get("idle_open_files", [])):
        lines.append(f"- Open descriptors, repetition {i + 1}: " + "; ".join(
            f"{point.replace('_', ' ')}: TierGate {f['tiergate']:,}, PgBouncer {f['pgbouncer']:,}"
            for point, f in fds.items()))
    return "\n".join(lines)


def cpu_ticks(m, cpu, path):
    """The CPU ticks counted in each run of a proxy CPU figure."""
    return m.context.get("cpu_ticks", {}).get(cpu, {}).get(path.key, [])


def too_few_ticks(m, cpu, paths):
    return any(min(cpu_ticks(m, cpu, p), default=0) < MIN_CPU_TICKS for p in paths)


def batching_cell(m, tps, path):
    """TierGate's socket events per event-loop wake-up over the runs (median), else —."""
    s = m.summary(EVENTS_PER_WAKEUP[tps], path.key)
    return "—" if not s else f"{s.median:,.1f}"


def cpu_table(m):
    """Proxy CPU per transaction per workload and path, with the ratios taken inside each
    repetition (median of those, min–max)."""
    if not any(key in m.values for key in CPU_FIGURES):
        return "_Not measured (the throughput step failed, or no proxy process was found)._"
    rows = ["| Workload | Path | Proxy CPU, µs per transaction | Spread (min–max) | vs PgBouncer | vs relay "
            "| Ticks per run | Socket events per loop wake-up |",
            "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |"]

    def ratio_cell(key, path):
        s = m.summary(key, path.key)
        if not s:
            return "—"
        return f"{s.median:.2f}×" + ("" if s.count < 2 else f" ({s.low:.2f}–{s.high:.2f})")

    for tps, cpu in PROXY_CPU.items():
        for path in PROXY_PATHS:
            s = m.summary(cpu, path.key)
            if not s:
                continue
            label = path.label + (" (TierGate's own CPU)" if path is TIERGATE_PGBOUNCER else "")
            rows.append(f"| {FIGURES[tps].label} | {label} | **{s.median:,.1f}** | {spread(s, 'µs/txn')} "
                        f"| {'1.00×' if path is PGBOUNCER else ratio_cell(cpu + '_vs_pgbouncer', path)} "
                        f"| {ratio_cell(cpu + '_vs_relay', path) if path is TIERGATE_GATING else '—'} "
                        f"| {'–'.join(str(n) for n in sorted({min(cpu_ticks(m, cpu, path)), max(cpu_ticks(m, cpu, path))}))} "
                        f"| {batching_cell(m, tps, path)} |")
    return "\n".join(rows)


TOO_FEW_TICKS = f"too few CPU ticks to tell (< {MIN_CPU_TICKS} in a run)"


def status(ok):
    """ok: True, False, None (not measured), or a text saying why it cannot be told."""
    if isinstance(ok, str):
        return ok
    if ok is None:
        return "not measured"
    return "met" if ok else "**not met**"


def connect_lookups(m):
    """The gating proxy's tier lookups during the timed connections, all repetitions."""
    total = {}
    for lookups in m.context.get("connect_lookups", {}).values():
        for key, n in lookups.items():
            total[key] = total.get(key, 0) + n
    return total


def lookups_text(lookups):
    if not lookups:
        return ""
    misses = lookups["in_process_misses"]
    return (f"{lookups['in_process_hits']:,} of {lookups['in_process_hits'] + misses:,} lookups in-process hits"
            + (f"; {misses:,} went on to Redis (in-process entry older than 5 s): {lookups['redis_hits']:,} "
               f"Redis hits, {lookups['source_lookups']:,} MongoDB reads" if misses else ""))


def targets_table(m, counts, wanted_counts):
    """One row per target, one column per TierGate path (relay and gating)."""
    def cell(value_text, ok):
        return f"{value_text} · {status(ok)}"
    header = "| Target | " + " | ".join(p.label for p in TIERGATE_PATHS) + " |"
    rows = [header, "| --- |" + " --- |" * len(TIERGATE_PATHS)]
    for key in PERSISTENT_THROUGHPUT:
        b, d = m.summary(key, PGBOUNCER.key), m.summary(key, DIRECT.key)
        label = FIGURES[key].label
        vs_bouncer, vs_direct = [], []
        for path in TIERGATE_PATHS:
            t = m.summary(key, path.key)
            if t and b and d:
                vs_bouncer.append(cell(f"{t.median / b.median:.2f}× PgBouncer", t.median >= b.median))
                vs_direct.append(cell(f"{100 * t.median / d.median:.0f}% of direct",
                                      t.median >= TARGET_SHARE_OF_DIRECT * d.median))
            else:
                vs_bouncer.append("not measured")
                vs_direct.append("not measured")
        rows.append(f"| {label}: ≥ PgBouncer | " + " | ".join(vs_bouncer) + " |")
        rows.append(f"| {label}: ≥ 90% of direct | " + " | ".join(vs_direct) + " |")
    for tps, cpu in PROXY_CPU.items():
        label = FIGURES[tps].label
        bouncer, relay, gating = (m.summary(cpu, p.key) for p in (PGBOUNCER, TIERGATE, TIERGATE_GATING))
        relay_ratio = m.summary(cpu + "_vs_pgbouncer", TIERGATE.key)
        gating_ratio = m.summary(cpu + "_vs_relay", TIERGATE_GATING.key)
        def cpu_cell(share, text, divisor, dividend, target, paths):
            """share: the median ratio of the repetitions; missing when the divisor's runs
            counted no tick (smoke) or a process was not found."""
            if not (divisor and dividend):
                return "not measured"
            if too_few_ticks(m, cpu, paths):
                return cell(f"{share.median:.2f}× {text}" if share else f"{dividend.median:,.1f} µs", TOO_FEW_TICKS)
            return cell(f"{share.median:.2f}× {text}", share.median <= target)
        relay_cell = cpu_cell(relay_ratio, f"PgBouncer ({relay.median:,.1f} vs {bouncer.median:,.1f} µs)"
                              if relay and bouncer else "", bouncer, relay, TARGET_RELAY_CPU_VS_PGBOUNCER,
                              (PGBOUNCER, TIERGATE))
        gating_cell = cpu_cell(gating_ratio, f"the relay ({gating.median:,.1f} µs)" if gating else "", relay, gating,
                               TARGET_GATING_CPU_VS_RELAY, (TIERGATE, TIERGATE_GATING))
        rows.append(f"| Proxy CPU per transaction, {label}: relay ≤ {TARGET_RELAY_CPU_VS_PGBOUNCER}× PgBouncer "
                    f"| {relay_cell} | — |")
        rows.append(f"| Proxy CPU per transaction, {label}: gating ≤ {TARGET_GATING_CPU_VS_RELAY}× relay "
                    f"| — | {gating_cell} |")
    cells = []
    for path in TIERGATE_PATHS:
        added = m.summary("connect_p50_added_us", path.key)
        text = cell(f"{added.median:+,.0f} µs", added.median < TARGET_ADDED_CONNECT_P50_US) if added else "not measured"
        if path is TIERGATE_GATING and connect_lookups(m):
            text += f" ({lookups_text(connect_lookups(m))})"
        cells.append(text)
    rows.append("| Added connection latency p50 < 300 µs (gating: a cache hit, after a warm-up connection) | "
                + " | ".join(cells) + " |")
    for wanted, count in zip(wanted_counts, counts_for(wanted_counts, counts)):
        per = m.memory_summary("tiergate", f"kb_per_connection_{count}")
        at = f"{count:,} idle clients, relay" + (f" ({wanted:,} asked: open-file limit, see the memory notes)"
                                                  if count != wanted else "")
        rows.append(f"| Memory < {TARGET_KB_PER_IDLE_CONNECTION:g} kB per idle client, {at} | "
                    + (cell(f"{per.median:.1f} kB", per.median < TARGET_KB_PER_IDLE_CONNECTION) if per else "not measured")
                    + " | — |")
    return "\n".join(rows)


def counts_for(wanted_counts, counts):
    """The count measured in place of each wanted one (the same, or the open-file cap)."""
    cap = max(counts)
    return [min(w, cap) for w in wanted_counts]


def headlines(c):
    """A few lines to quote (e.g. in the project README): where TierGate stands against
    PgBouncer and the targets, in this run."""
    m = c.measurements
    counts, _ = idle_counts(c)
    lines = []
    t, b = m.summary("select_simple_tps", TIERGATE.key), m.summary("select_simple_tps", PGBOUNCER.key)
    if t and b:
        lines.append(f"- Throughput, pgbench -S ({c.profile.clients} clients): TierGate → Postgres **{t.median:,.0f} tps**, "
                     f"{t.median / b.median:.2f}× PgBouncer's {b.median:,.0f} (target ≥ 1×).")
    for tps, cpu in PROXY_CPU.items():
        bouncer, relay, gating = (m.summary(cpu, p.key) for p in (PGBOUNCER, TIERGATE, TIERGATE_GATING))
        relay_ratio = m.summary(cpu + "_vs_pgbouncer", TIERGATE.key)
        gating_ratio = m.summary(cpu + "_vs_relay", TIERGATE_GATING.key)
        if not (bouncer and relay and gating):
            continue
        lines.append(
            f"- Proxy CPU per transaction, {FIGURES[tps].label}: PgBouncer {bouncer.median:,.1f} µs, "
            f"TierGate relay **{relay.median:,.1f} µs**"
            + (f" ({relay_ratio.median:.2f}× PgBouncer; target ≤ {TARGET_RELAY_CPU_VS_PGBOUNCER}×)" if relay_ratio else "")
            + f", gating **{gating.median:,.1f} µs**"
            + (f" ({gating_ratio.median:.2f}× the relay; target ≤ {TARGET_GATING_CPU_VS_RELAY}×)" if gating_ratio else "")
            + (f"; {TOO_FEW_TICKS}" if too_few_ticks(m, cpu, (PGBOUNCER, TIERGATE, TIERGATE_GATING)) else "")
            + ".")
    added = m.summary("connect_p50_added_us", TIERGATE_GATING.key)
    if added:
        lines.append(f"- Added connection latency p50, gating path, tier in cache: **{added.median:+,.0f} µs** "
                     f"(target < {TARGET_ADDED_CONNECT_P50_US:,.0f} µs).")
    per = [(n, m.memory_summary("tiergate", f"kb_per_connection_{n}"), m.memory_summary("pgbouncer", f"kb_per_connection_{n}"))
           for n in counts]
    if all(t and b for _, t, b in per):
        lines.append("- Memory per idle client: TierGate " + ", ".join(f"**{t.median:.1f} kB** at {n:,}" for n, t, _ in per)
                     + " (PgBouncer " + ", ".join(f"{b.median:.1f} kB" for _, _, b in per)
                     + f"; target < {TARGET_KB_PER_IDLE_CONNECTION:g} kB).")
    added_peak = m.memory_summary("tiergate", "wave2_peak_added_kb")
    added_closed = m.memory_summary("tiergate", "wave2_closed_added_kb")
    if added_peak and added_closed:
        lines.append(f"- A second wave of {max(counts):,} idle clients after the first closed: TierGate's RSS "
                     f"{added_peak.median:+,.0f} kB over the first wave's peak, {added_closed.median:+,.0f} kB "
                     "once it closed too.")
    return "\n".join(lines) or "_No figures (see the steps below)._"


def gate_section(c):
    m = c.measurements
    if not m.gate:
        return f"_{c.gate_bench_note or 'Not measured (the step failed; see the steps below).'}_"
    rows = ["| Decision | ns per decision (median run) | Spread over runs (min–max) | Per call p50 / p99 | "
            "Runs × iterations | Resolver counted (all runs) |",
            "| --- | ---: | --- | ---: | ---: | --- |"]
    for figure in m.gate:
        s = m.gate_summary(figure)
        per_call = (f"{figure['call_p50_ns'] / 1000:,.0f} / {figure['call_p99_ns'] / 1000:,.0f} µs"
                    if "call_p50_ns" in figure else "—")
        checks = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in figure["checks"].items() if v)
        rows.append(f"| {figure['label']} | **{s.median:,.0f}** | {spread(s, 'ns')} | {per_call} "
                    f"| {s.count} × {figure['iterations_per_run']:,} | {checks or '—'} |")
    return "\n".join(rows)


def noise_text(noise, m):
    if not noise:
        return "No noise samples were taken."
    noisy = m.noisy()
    names = ", ".join(noise["foreign_names"]) or "none"
    lines = [
        f"- Other work (compilers, linkers, test runners: other people's builds and tests) ran in "
        f"{100 * noise['foreign_share']:.0f}% of {noise['samples']} one-second samples, using "
        f"{noise['foreign_cores_mean']:.2f} cores on average (peak {noise['foreign_cores_max']:.2f}); seen: {names}.",
        f"- CPU stolen by the hypervisor: {noise['stolen_cores_mean']:.2f} cores on average "
        f"(peak {noise['stolen_cores_max']:.2f}).",
        f"- CPU busy (whole machine, the benchmark's own load included): {noise['busy_cores_mean']:.2f} of "
        f"{os.cpu_count()} cores on average; load average (1 min) mean {noise['load1_mean']:.1f}, max {noise['load1_max']:.1f} "
        f"(the benchmark's own pgbench clients and their backends make most of it).",
        f"- Figures whose spread is over {100 * SPREAD_WARNING:.0f}% (marked ⚠): {len(noisy)}.",
    ]
    return "\n".join(lines)


def markdown(c):
    m, p = c.measurements, c.profile
    counts, counts_note = idle_counts(c)
    duration = (c.finished - c.started).total_seconds()
    steps = "\n".join(f"| {name} | {'ok' if ok else '**failed**'} | {seconds:.0f} s | {detail} |"
                      for name, ok, seconds, detail in c.steps)
    retries = ("\n".join(f"- {what}: {error}" for what, error in c.retries)
               if c.retries else "- none")
    length = f"{p.seconds} s" if p.seconds else f"{p.transactions} transactions per client"
    copy_size = f"{c.copy_bytes / 1e6:,.0f} MB" if c.copy_bytes else f"~{p.copy_megabytes} MB"
    return f"""# TierGate benchmark results ({p.name} run)

Measured by `bench/run.sh{' --smoke' if p.name == 'smoke' else ''}` on {c.started:%Y-%m-%d}, \
{c.started:%H:%M}–{c.finished:%H:%M} UTC ({duration / 60:.0f} min). How each figure is measured:
[bench/README.md]({c.readme_link}). Medians of {p.repetitions} repetition(s); the paths took
turns inside each repetition. Raw outputs (git-ignored): `{c.raw_dir}/`.

![Main ratios](chart.png)

## Headlines

{headlines(c)}

## Machine and versions

| | |
| --- | --- |
| Machine | {c.machine['cpu']}, {c.machine['cores']} cores, {c.machine['memory_gib']} GiB memory, Linux {c.machine['kernel']} |
| Postgres | {c.server_version} (the stack's, port {c.ports['postgres']}) |
| PgBouncer | {c.pgbouncer_version or c.versions['pgbouncer']} (the stack's, port {c.ports['pgbouncer']}, transaction pooling) |
| pgbench | {c.versions['pgbench']} |
| Swift | {c.versions['swift']} |
| TierGate | commit `{c.tiergate_commit}`, binary `{c.tiergate_binary}` |
| Gating path | `tiergate serve --mongo mongodb://127.0.0.1:{c.ports['mongo']} --redis redis://127.0.0.1:{c.ports['redis']}` (the stack's MongoDB, i.e. SecantusDB, and Redis; in-process cache 5 s, the default; `--tiers`: the built-in matrix with {c.org_tier}'s connect rate lifted, so churn measures connections, not the rate limit), user `app.{c.org}`: org `{c.org}`, {c.org_tier}, routed to database `{p.database}` |
| Run | {p.repetitions} repetition(s); pgbench {p.clients} clients, {p.threads} threads, {length} per run; \
{p.query_samples:,} queries and {p.connection_samples:,} connections per path per repetition for latency; \
COPY of {copy_size}; {' and '.join(f'{n:,}' for n in counts)} idle clients, then {max(counts):,} again |

## How noisy the machine was

{noise_text(c.noise, m)}

The benchmark, Postgres, PgBouncer and TierGate share the same 2 cores: a proxy's CPU
comes out of the database's and the client's budget here, so throughput ratios are
harsher than on a host where the proxy has cores of its own.

## Where we stand against the targets

Reported, never asserted: the run does not fail on them.

{targets_table(m, counts, tuple(sorted(p.idle_connections)))}

## Results

Throughput and latency on the five paths. The three relay paths run TierGate without an org source (no
tier lookup); **TierGate gating → Postgres** logs in as `app.{c.org}`, so every connection
is looked up (in-process cache, Redis, MongoDB), admitted by the gate, and starts upstream
with the tier's settings in its startup `options`. "vs direct" and "vs PgBouncer" are ratios of
medians (for tps and MB/s higher is better; for ms and µs lower is better). Spreads are
min–max over the repetitions, with (max − min) / median in brackets; ⚠ marks over
{100 * SPREAD_WARNING:.0f}%.

{main_table(m)}

### Added latency relative to direct Postgres

Per repetition, the path's percentile minus direct's percentile of the same repetition
(samples interleaved path by path); median over repetitions, min to max in brackets.

{added_latency_table(m)}

### Proxy CPU per transaction

CPU time (utime + stime, /proc/PID/stat, in ticks of 1/{CLOCK_TICKS} s) of the process
the clients connect to, read before and after each throughput run above, divided by the
transactions pgbench processed: the stack's PgBouncer for PgBouncer, the TierGate instance
for the TierGate paths (for TierGate → PgBouncer, TierGate's share only). "vs PgBouncer" and
"vs relay" divide inside each repetition (the paths ran back to back) and give the median of
those ratios, min–max in brackets.{" The smoke run's few transactions last a few ticks at most, so its figures say nothing." if p.name == "smoke" else ""}

{cpu_table(m)}

### Memory with idle client connections

A fresh TierGate in front of a PgBouncer started by the benchmark (the stack's caps
clients at 2,000); clients connect and complete the startup (ReadyForQuery), then stay
idle. kB per connection = (RSS with N clients − RSS idle) / N. After the first wave has
closed, a second wave of as many clients as the first's largest opens, stays idle and
closes: what it adds shows whether the proxy reuses the memory the first wave grew it to.

{memory_table(m, counts)}

{memory_notes(m, counts, counts_note)}

## Gate decision cost

`tiergate-gate-bench` (`Benchmarks/GateBench/main.swift`, release build{f", `{c.gate_bench_binary}`" if c.gate_bench_binary else ""}),
one thread, timed with `ContinuousClock`: each run times a batch of decisions and gives
elapsed / iterations; the table gives the median run and the fastest and slowest (⚠ over
{100 * SPREAD_WARNING:.0f}%). The gate figures hold the org at 50 open sessions among 1,000 other orgs
with 10 each; the Mutex figure locks twice per decision (admit, then release), as
`TierAdmission` does. Resolver figures are for `{c.org}` against the stack's Redis and
MongoDB: "Redis hit" sets the in-process freshness to 0, so every lookup hops to the
resolver's queue and does one MGET; "MongoDB miss" deletes the Redis key (untimed) before
each lookup, which then misses Redis, reads MongoDB and writes back through the
compare-and-set script. The last column is the resolver's own counters: each lookup took
the layer the row names. Measured alone, after the other steps, with the proxies stopped.

{gate_section(c)}

## Steps of this run

| Step | Result | Time | Detail |
| --- | --- | ---: | --- |
{steps}

Retried measurements (each is retried once after a failure; a failed retry fails the step):
{retries}
"""


def chart(m, out_path, profile):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {PGBOUNCER.key: "#7f7f7f", TIERGATE.key: "#1f77b4", TIERGATE_PGBOUNCER.key: "#2ca02c",
              TIERGATE_GATING.key: "#ff7f0e"}
    short = {PGBOUNCER.key: "PgBouncer", TIERGATE.key: "TierGate → Postgres (relay)",
             TIERGATE_PGBOUNCER.key: "TierGate → PgBouncer (relay)",
             TIERGATE_GATING.key: "TierGate gating → Postgres"}
    def offset(i):
        return (i - (len(PROXY_PATHS) - 1) / 2) * width
    fig, axes = plt.subplots(1, 4, figsize=(22, 5.6), gridspec_kw={"width_ratios": [3, 2, 2, 1.6]})

    # 1. Throughput as a share of direct Postgres.
    throughput = [("select_simple_tps", "select\nsimple"), ("select_extended_tps", "select\nextended"),
                  ("tpcb_simple_tps", "TPC-B\nsimple"), ("tpcb_extended_tps", "TPC-B\nextended"),
                  ("churn_tps", "churn\n(-C)"), ("copy_mb_per_s", "COPY\nMB/s")]
    ax = axes[0]
    width = 0.8 / len(PROXY_PATHS)
    for i, path in enumerate(PROXY_PATHS):
        values = []
        for key, _ in throughput:
            s, d = m.summary(key, path.key), m.summary(key, DIRECT.key)
            values.append(s.median / d.median if s and d and d.median else 0)
        xs = [x + offset(i) for x in range(len(throughput))]
        bars = ax.bar(xs, values, width, label=short[path.key], color=colors[path.key])
        ax.bar_label(bars, labels=[f"{v:.2f}" if v else "" for v in values], fontsize=6, padding=1)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(TARGET_SHARE_OF_DIRECT, color="#d62728", linestyle="--", linewidth=0.8, label="target 0.9")
    ax.set_xticks(range(len(throughput)), [label for _, label in throughput], fontsize=8)
    ax.set_ylabel("ratio to direct Postgres (higher is better)")
    ax.set_title("Throughput relative to direct")
    ax.legend(fontsize=7, loc="lower left")

    # 2. Added latency in microseconds.
    latency = [("query_p50_added_us", "query p50"), ("query_p99_added_us", "query p99"),
               ("connect_p50_added_us", "connect p50"), ("connect_p99_added_us", "connect p99")]
    ax = axes[1]
    for i, path in enumerate(PROXY_PATHS):
        values = [(m.summary(key, path.key).median if m.summary(key, path.key) else 0) for key, _ in latency]
        xs = [x + offset(i) for x in range(len(latency))]
        bars = ax.bar(xs, values, width, label=short[path.key], color=colors[path.key])
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=6, padding=1)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axhline(TARGET_ADDED_CONNECT_P50_US, color="#d62728", linestyle="--", linewidth=0.8,
               label="target: connect p50 < 300 µs")
    ax.set_xticks(range(len(latency)), [label for _, label in latency], fontsize=8)
    ax.set_ylabel("µs added vs direct (lower is better)")
    ax.set_title("Added latency")
    ax.legend(fontsize=7)

    # 3. Proxy CPU per transaction (the direct path has no proxy).
    cpu = [(PROXY_CPU[key], label) for key, label in throughput if key in PROXY_CPU]
    ax = axes[2]
    for i, path in enumerate(PROXY_PATHS):
        values = [(m.summary(key, path.key).median if m.summary(key, path.key) else 0) for key, _ in cpu]
        xs = [x + offset(i) for x in range(len(cpu))]
        bars = ax.bar(xs, values, width, label=short[path.key], color=colors[path.key])
        ax.bar_label(bars, labels=[f"{v:,.1f}" if v else "" for v in values], fontsize=6, padding=1)
    ax.set_xticks(range(len(cpu)), [label for _, label in cpu], fontsize=8)
    ax.set_ylabel("proxy CPU µs per transaction (lower is better)")
    ax.set_title("Proxy CPU per transaction")
    ax.legend(fontsize=7)

    # 4. Memory per idle client connection, per count, and the second wave.
    ax = axes[3]
    counts = tuple(m.context.get("idle_counts") or profile.idle_connections)
    points = [(f"kb_per_connection_{n}", f"{n:,}") for n in counts] + [("kb_per_connection_wave2", "2nd wave")]
    width2 = 0.38
    for i, (process, label) in enumerate((("tiergate", "TierGate"), ("pgbouncer", "PgBouncer"))):
        values = [(m.memory_summary(process, key).median if m.memory_summary(process, key) else 0)
                  for key, _ in points]
        xs = [x + (i - 0.5) * width2 for x in range(len(points))]
        bars = ax.bar(xs, values, width2, label=label,
                      color=colors[TIERGATE.key] if process == "tiergate" else colors[PGBOUNCER.key])
        ax.bar_label(bars, labels=[f"{v:.1f}" for v in values], fontsize=7)
    ax.axhline(TARGET_KB_PER_IDLE_CONNECTION, color="#d62728", linestyle="--", linewidth=0.8,
               label=f"target < {TARGET_KB_PER_IDLE_CONNECTION:g} kB")
    ax.set_xticks(range(len(points)), [label for _, label in points], fontsize=8)
    ax.set_ylabel("kB per idle client connection")
    ax.set_title("Memory per idle client")
    ax.legend(fontsize=7)

    fig.suptitle(f"TierGate benchmark ({profile.name} run, medians of {profile.repetitions})", fontsize=11)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
