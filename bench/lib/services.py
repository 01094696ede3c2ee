"""The processes a run talks to: the stack's Postgres and PgBouncer (already running),
and the ones the benchmark starts and stops itself: TierGate instances and, for the
memory figures, a PgBouncer of its own that accepts thousands of clients."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import postgres_wire
import procfs

HOST = "127.0.0.1"
APP_USER, APP_PASSWORD = "app", "app_pw"


class BenchError(Exception):
    """A step cannot go on; the message says why and where to look."""


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def psql(port, sql, user="postgres", database="postgres", timeout=600):
    """Run SQL with psql (the stack trusts postgres on loopback); return stdout."""
    env = dict(os.environ, PGPASSWORD=APP_PASSWORD, PGCONNECT_TIMEOUT="10")
    result = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(port),
         "-U", user, "-d", database, "-c", sql],
        capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0:
        raise BenchError(f"psql on port {port} ({user}@{database}) failed: {result.stderr.strip()}")
    return result.stdout.strip()


def admin_command(socket_path, command, timeout=10.0):
    """One command on the admin socket of `tiergate serve --admin-socket`: one line out,
    one JSON line back (see the project README's admin commands)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        sock.sendall(command.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise BenchError(f"admin socket {socket_path} closed before replying to {command}")
            reply += chunk
    answer = json.loads(reply)
    if not answer.get("ok"):
        raise BenchError(f"{command} on {socket_path}: {answer.get('error', answer)}")
    return answer


def wait_for_session(port, database, seconds=15.0, user=APP_USER):
    """Poll until a full session (startup, SCRAM, ReadyForQuery) opens on `port`."""
    deadline = time.monotonic() + seconds
    last_error = None
    while time.monotonic() < deadline:
        try:
            postgres_wire.timed_connection(HOST, port, user, APP_PASSWORD, database, timeout=5)
            return
        except (OSError, postgres_wire.ProtocolError, postgres_wire.ServerError) as error:
            last_error = error
            time.sleep(0.1)
    raise BenchError(f"no session on port {port} after {seconds:.0f} s: {last_error}")


def wait_for_port(port, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"nothing accepts connections on port {port} after {seconds:.0f} s")


class ManagedProcess:
    """A child process the benchmark started, stopped by its own pid (never by name)."""

    def __init__(self, name, argv, log_path, **popen_args):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, **popen_args)

    @property
    def pid(self):
        return self.process.pid

    def check_alive(self):
        if self.process.poll() is not None:
            raise BenchError(f"{self.name} exited with status {self.process.returncode} (log: {self.log_path})")

    def rss_kb(self):
        self.check_alive()
        return procfs.rss_kb(self.pid)

    def stop(self, grace=10.0):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


class TierGate(ManagedProcess):
    """`tiergate serve` on a free port, relaying to `upstream_port`: a plain relay, or with
    `org_source` (e.g. ["--mongo", URI, "--redis", URL]) gating by tier."""

    def __init__(self, binary, upstream_port, log_path, database, ready="session", org_source=(),
                 user=APP_USER, extra_args=()):
        """`ready`: "session" waits until a whole session opens through the proxy (as `user`);
        "port" only until it accepts TCP connections, leaving it untouched (idle RSS).
        `extra_args`: more `serve` options, e.g. ["--admin-socket", PATH]."""
        self.port = free_port()
        self.metrics_port = free_port()
        self.upstream_port = upstream_port
        super().__init__(f"tiergate :{self.port} -> :{upstream_port}" + (" (gating)" if org_source else ""),
                         [binary, "serve", "--listen", f"{HOST}:{self.port}",
                          "--upstream", f"{HOST}:{upstream_port}", "--log-level", "warning",
                          "--metrics", f"{HOST}:{self.metrics_port}", *org_source, *extra_args],
                         log_path)
        try:
            if ready == "session":
                wait_for_session(self.port, database, user=user)
            else:
                wait_for_port(self.port)
        except BenchError:
            self.stop()
            raise
        self.check_alive()


    def loop_counters(self):
        """(wake-ups, socket events) of TierGate's event loops so far, from /metrics: their
        difference over a run gives the socket events one Dispatch wake-up served."""
        with urllib.request.urlopen(f"http://{HOST}:{self.metrics_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        values = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name in ("tiergate_event_loop_wakeups_total", "tiergate_event_loop_events_total"):
                values[name] = float(value)
        return (values.get("tiergate_event_loop_wakeups_total", 0.0),
                values.get("tiergate_event_loop_events_total", 0.0))


def write_pgbouncer_config(workdir, port, pg_port, auth_type, max_clients, pool_size, extra=""):
    """A benchmark PgBouncer's pgbouncer.ini and userlist (app's password) in `workdir`:
    transaction pooling in front of the stack's Postgres. Returns the ini's path."""
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "userlist.txt"), "w") as userlist:
        userlist.write(f'"{APP_USER}" "{APP_PASSWORD}"\n')
    ini = os.path.join(workdir, "pgbouncer.ini")
    with open(ini, "w") as config:
        config.write(f"""[databases]
* = host={HOST} port={pg_port}

[pgbouncer]
listen_addr = {HOST}
listen_port = {port}
unix_socket_dir =
auth_type = {auth_type}
auth_file = {workdir}/userlist.txt
pool_mode = transaction
max_client_conn = {max_clients}
default_pool_size = {pool_size}
log_connections = 0
log_disconnections = 0
{extra}""")
    # PgBouncer refuses to run as root; -u drops to postgres after reading its files.
    for name in ("userlist.txt", "pgbouncer.ini"):
        os.chmod(os.path.join(workdir, name), 0o644)
    return ini


class BenchPgBouncer(ManagedProcess):
    """A PgBouncer of the benchmark's own for the idle-connection figures.

    The stack's PgBouncer caps clients at max_client_conn = 2000, below the 10,000 idle
    sessions to hold; this one has room for them. Same pooling mode as the stack's
    (transaction), same Postgres behind it; clients are trusted (loopback, lives only
    for this step) so holding thousands of sessions does not spend minutes in SCRAM,
    while PgBouncer's own login to Postgres still uses app's password.
    """

    def __init__(self, workdir, pg_port, max_clients, log_path, database):
        self.port = free_port()
        ini = write_pgbouncer_config(workdir, self.port, pg_port, auth_type="trust",
                                     max_clients=max_clients, pool_size=4)
        super().__init__(f"bench pgbouncer :{self.port}",
                         ["pgbouncer", "-u", "postgres", ini], log_path)
        try:
            wait_for_session(self.port, database)
        except BenchError:
            self.stop()
            raise
