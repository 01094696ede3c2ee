"""What the figures were measured on: the machine, the versions, and how busy the
machine was with work other than the benchmark while it ran."""

import os
import platform
import re
import subprocess
import threading
import time


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
    """Samples once a second, in a thread: the machine's CPU use (from /proc/stat), the
    load average, and the CPU that compilers, linkers and test runners (other people's
    builds, never the benchmark's own processes) used since the previous sample."""

    def __init__(self, interval=1.0):
        self.interval = interval
        self.samples = []  # (busy cores, foreign cores, load1, foreign process count)
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
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields), idle

    def _foreign_ticks(self):
        ticks, count = {}, 0
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
                rest = raw[raw.rindex(")") + 2:].split()
                ticks[entry] = int(rest[11]) + int(rest[12])  # utime + stime
                count += 1
        return ticks, count

    def _run(self):
        total0, idle0 = self._cpu_times()
        foreign0, _ = self._foreign_ticks()
        t0 = time.monotonic()
        while not self._stop.wait(self.interval):
            total1, idle1 = self._cpu_times()
            foreign1, count = self._foreign_ticks()
            t1 = time.monotonic()
            elapsed = t1 - t0
            if total1 > total0:
                busy = (1 - (idle1 - idle0) / (total1 - total0)) * (os.cpu_count() or 1)
            else:
                busy = 0.0
            # A process not seen at the previous sample started since then: all its CPU
            # time falls in this interval. One that ended in between is missed (undercount).
            foreign = sum(t - foreign0.get(p, 0) for p, t in foreign1.items())
            with open("/proc/loadavg") as loadavg:
                load1 = float(loadavg.read().split()[0])
            self.samples.append((busy, foreign / self._ticks / elapsed, load1, count))
            total0, idle0, foreign0, t0 = total1, idle1, foreign1, t1

    def summary(self):
        if not self.samples:
            return None
        n = len(self.samples)
        return {
            "samples": n,
            "busy_cores_mean": sum(s[0] for s in self.samples) / n,
            "foreign_cores_mean": sum(s[1] for s in self.samples) / n,
            "foreign_cores_max": max(s[1] for s in self.samples),
            "foreign_share": sum(1 for s in self.samples if s[3] > 0) / n,
            "load1_mean": sum(s[2] for s in self.samples) / n,
            "load1_max": max(s[2] for s in self.samples),
        }
