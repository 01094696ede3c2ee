"""What the figures were measured on: the machine, the versions, and how busy the
machine was with work other than the benchmark while it ran."""

import os
import platform
import re
import subprocess
import threading
import time

from procfs import cpu_ticks_of_stat


def _first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def machine_description():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo.read()).group(1))
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
    }


def tool_versions(pgbouncer="pgbouncer"):
    return {
        "pgbench": _first_line(["pgbench", "--version"]),
        "pgbouncer": _first_line([pgbouncer, "--version"]),
        "swift": _first_line(["swift", "--version"]),
        "python": platform.python_version(),
    }


# Processes that mean "someone is building or testing": compilers, linkers, test runners.
# /proc/PID/comm is cut at 15 characters, hence prefixes.
FOREIGN_PREFIXES = ("swift-frontend", "swift-build", "swift-test", "swift-driver", "swiftc",
                    "clang", "cc1", "ld", "ld.lld", "ld.gold", "xctest", "tiergatePackage")


class NoiseSampler:
    """Samples once a second, in a thread: the machine's CPU use and the CPU stolen by the
    hypervisor (from /proc/stat), the load average, and the CPU that compilers, linkers
    and test runners (other people's builds and tests, never the benchmark's own
    processes) used since the previous sample."""

    ACTIVE = 0.05  # a build process counts as running when it used 5% of a core or more

    def __init__(self, interval=1.0):
        self.interval = interval
        self.samples = []  # (busy cores, stolen cores, foreign cores, load1)
        self.foreign_names = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ticks = os.sysconf("SC_CLK_TCK")

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    @staticmethod
    def _cpu_times():
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal (guest time is inside user)
        total = sum(fields[:8])
        return total, fields[3] + fields[4], fields[7]

    @staticmethod
    def _foreign_ticks():
        ticks = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    raw = stat.read()
            except OSError:
                continue
            comm = raw[raw.index("(") + 1:raw.rindex(")")]
            if comm.startswith(FOREIGN_PREFIXES):
                ticks[entry] = (comm, cpu_ticks_of_stat(raw))
        return ticks

    def _run(self):
        cores = os.cpu_count() or 1
        total0, idle0, steal0 = self._cpu_times()
        foreign0 = self._foreign_ticks()
        t0 = time.monotonic()
        while not self._stop.wait(self.interval):
            total1, idle1, steal1 = self._cpu_times()
            foreign1 = self._foreign_ticks()
            t1 = time.monotonic()
            elapsed, span = t1 - t0, max(1, total1 - total0)
            busy = (1 - (idle1 - idle0) / span) * cores
            stolen = (steal1 - steal0) / span * cores
            # A process not seen at the previous sample started since then: all its CPU
            # time falls in this interval. One that ended in between is missed (undercount).
            foreign = 0.0
            for pid, (comm, ticks) in foreign1.items():
                used = (ticks - foreign0.get(pid, (comm, 0))[1]) / self._ticks / elapsed
                foreign += used
                if used >= self.ACTIVE:
                    self.foreign_names.add(comm)
            with open("/proc/loadavg") as loadavg:
                load1 = float(loadavg.read().split()[0])
            self.samples.append((busy, stolen, foreign, load1))
            total0, idle0, steal0, foreign0, t0 = total1, idle1, steal1, foreign1, t1

    def summary(self):
        if not self.samples:
            return None
        n = len(self.samples)
        return {
            "samples": n,
            "busy_cores_mean": sum(s[0] for s in self.samples) / n,
            "stolen_cores_mean": sum(s[1] for s in self.samples) / n,
            "stolen_cores_max": max(s[1] for s in self.samples),
            "foreign_cores_mean": sum(s[2] for s in self.samples) / n,
            "foreign_cores_max": max(s[2] for s in self.samples),
            "foreign_share": sum(1 for s in self.samples if s[2] >= self.ACTIVE) / n,
            "foreign_names": sorted(self.foreign_names),
            "load1_mean": sum(s[3] for s in self.samples) / n,
            "load1_max": max(s[3] for s in self.samples),
        }
