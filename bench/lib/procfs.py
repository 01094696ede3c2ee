"""What /proc says about one process: memory, CPU time, open files, and which process
listens on a TCP port. Linux only, like the rest of the benchmark."""

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # units of utime and stime in /proc/PID/stat


class ProcError(Exception):
    """/proc has not the figure asked for (the process is gone, or it is not readable)."""


def rss_kb(pid):
    """Resident set size of one process (all its threads), from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise ProcError(f"no VmRSS for pid {pid}")


def stat_fields(raw):
    """The fields of a /proc/PID/stat line after the command name, so index 0 is field 3
    (state) of proc(5). The name (field 2) is in parentheses and may hold spaces and
    parentheses of its own, hence the split after the last ')'."""
    return raw[raw.rindex(")") + 2:].split()


def cpu_ticks_of_stat(raw):
    """utime + stime (fields 14 and 15 of proc(5)) of a /proc/PID/stat line, in clock ticks."""
    fields = stat_fields(raw)
    return int(fields[11]) + int(fields[12])


def cpu_ticks(pid):
    """CPU time one process has used so far, user + system, in clock ticks (CLOCK_TICKS a
    second). /proc/PID/stat sums all the process' threads, the exited ones included, so a
    difference of two readings is what the whole process spent in between."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return cpu_ticks_of_stat(stat.read())
    except (FileNotFoundError, ProcessLookupError) as error:
        raise ProcError(f"pid {pid} is gone") from error


def open_files(pid):
    """How many descriptors the process holds now."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def open_file_limit(pid):
    """The process' soft RLIMIT_NOFILE, from /proc/PID/limits."""
    with open(f"/proc/{pid}/limits") as limits:
        for line in limits:
            if line.startswith("Max open files"):
                soft = line.split()[3]
                return None if soft == "unlimited" else int(soft)
    raise ProcError(f"no open-file limit for pid {pid}")


def _listening_inodes(port):
    """Inodes of the TCP sockets listening on `port`, any local address, IPv4 and IPv6."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows)  # header
                for row in rows:
                    fields = row.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                        inodes.add(inode)
        except FileNotFoundError:
            continue
    return inodes


def listening_pid(port):
    """The pid of the process that listens on TCP `port`: the owner of the listening
    socket's inode among /proc/*/fd. None when nobody (readable) does."""
    targets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not targets:
        return None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") in targets:
                    return int(entry)
            except OSError:
                continue
    return None


def command_name(pid):
    with open(f"/proc/{pid}/comm") as comm:
        return comm.read().strip()
