#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs into Fuzz/corpus/<Target>/.

    Fuzz/seeds.py write                  hand-built packets and streams, and the SQL and admin
                                         lines of the unit tests
    Fuzz/seeds.py capture PORT PG_PORT   relay 127.0.0.1:PORT to a Postgres on PG_PORT and keep
                                         each connection's bytes as seeds (see Fuzz/README.md)

Hand-built bytes follow the protocol docs ("Message Formats"); `write` only adds or
replaces its own files (named after what they hold), so captured seeds stay.
"""
import hashlib
import re
import socket
import struct
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "Fuzz" / "corpus"


def save(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(bytes(data))


# --- the wire format -------------------------------------------------------------------

def int32(v):
    return struct.pack(">i", v)


def cstr(s):
    return s.encode() + b"\0"


def packet(body):
    """A startup-phase packet: length (counting itself), body; no type byte."""
    return int32(len(body) + 4) + body


def startup(params, major=3, minor=0, raw=None):
    body = struct.pack(">HH", major, minor)
    body += raw if raw is not None else b"".join(cstr(k) + cstr(v) for k, v in params) + b"\0"
    return packet(body)


def message(type_, payload=b""):
    """A regular message: type byte, length (counting itself), payload."""
    return type_.encode() + int32(len(payload) + 4) + payload


def chunked(setting, stream, reads=()):
    """A ChunkedInput (Fuzz/Support/FuzzInput.swift): setting, read sizes, stream."""
    return bytes([setting, len(reads), *reads]) + stream


SSL_REQUEST = packet(int32(80877103))
GSSENC_REQUEST = packet(int32(80877104))


def cancel(pid, key):
    return packet(int32(80877102) + int32(pid) + key)


# --- StartupDecoder --------------------------------------------------------------------

def startup_seeds():
    libpq = [("user", "app_acme.org_acme"), ("database", "org_acme"), ("application_name", "psql"),
             ("client_encoding", "UTF8")]
    jdbc = [("user", "app_acme.org_acme"), ("database", "org_acme"), ("client_encoding", "UTF8"),
            ("DateStyle", "ISO"), ("TimeZone", "UTC"), ("extra_float_digits", "2")]
    seeds = {
        "ssl-request": SSL_REQUEST,
        "gssenc-request": GSSENC_REQUEST,
        "cancel-request-4-byte-key": cancel(4242, b"\xde\xad\xbe\xef"),
        "cancel-request-32-byte-key": cancel(-7, bytes(range(1, 33))),
        "startup-libpq-like": startup(libpq),
        "startup-jdbc-like": startup(jdbc),
        "startup-options": startup([("user", "u.org_acme"), ("options", "-c work_mem=1GB -c statement_timeout=0")]),
        "ssl-then-startup": SSL_REQUEST + startup(libpq),
        "gssenc-ssl-then-startup": GSSENC_REQUEST + SSL_REQUEST + startup(libpq),
        "startup-duplicate-user": startup([("user", "u.org_acme"), ("database", "org_acme"), ("user", "postgres")]),
        "startup-protocol-3.2-pq-option": startup([("user", "u.org_acme"), ("_pq_.test_option", "1")], minor=2),
        "startup-protocol-2.0": startup([("user", "u")], major=2),
        "startup-no-terminator": startup(None, raw=cstr("user") + b"u"),
        "startup-invalid-utf8": startup(None, raw=cstr("user") + b"\xff\xfe\0\0"),
        "startup-10000-bytes": startup([("user", "u.org_acme"), ("application_name", "a" * 9957)]),
        "startup-truncated": startup(libpq)[:30],
        "length-over-limit": int32(10001) + b"\0\3\0\0",
        "length-below-8": int32(7) + b"\0\3\0",
    }
    assert len(seeds["startup-10000-bytes"]) == 10000
    for name, data in seeds.items():
        save("StartupDecoder", name, data)


# --- MessageFramer ---------------------------------------------------------------------

ALL, NONE, CLIENT = 0x01 | 7 << 2, 0x00 | 7 << 2, 0x02 | 7 << 2   # limit index 7: 16 MiB


def framer_seeds():
    backend = b"".join([
        message("R", int32(0)),
        message("S", cstr("application_name") + cstr("psql")),
        message("S", cstr("client_encoding") + cstr("UTF8")),
        message("K", int32(4242) + b"\xde\xad\xbe\xef"),
        message("Z", b"I"),
        message("T", struct.pack(">h", 1) + cstr("?column?") + int32(0) + struct.pack(">h", 0) + int32(23)
                + struct.pack(">hih", 4, -1, 0)),
        message("D", struct.pack(">h", 1) + int32(1) + b"1"),
        message("C", cstr("SELECT 1")),
        message("Z", b"I"),
        message("E", b"SERROR\0VERROR\0C42601\0Msyntax error at or near \"x\"\0P1\0\0"),
        message("N", b"SNOTICE\0VNOTICE\0C00000\0Mnotice\0\0"),
        message("Z", b"E"),
    ])
    frontend = b"".join([
        message("Q", cstr("SET work_mem = '1GB'")),
        message("P", cstr("") + cstr("SELECT set_config('work_mem', $1, false)") + struct.pack(">h", 1) + int32(25)),
        message("B", b"\0\0" + struct.pack(">hh", 0, 1) + int32(3) + b"1GB" + struct.pack(">h", 0)),
        message("D", b"P\0"),
        message("E", b"\0" + int32(0)),
        message("S"),
        message("X"),
    ])
    copy = b"".join([message("G", b"\0\0\0"), *(message("d", bytes(range(64)) * 4) for _ in range(3)),
                     message("c"), message("C", cstr("COPY 3")), message("Z", b"I")])
    seeds = {
        "backend-all-inspected": chunked(ALL, backend),
        "backend-none-inspected-cut": chunked(NONE, backend, [1, 4, 5, 9, 30, 2]),
        "backend-some-inspected-cut": chunked(0x03 | 7 << 2 | 0xE0, backend, [7, 7, 0, 13]),
        "frontend-query-parse-inspected": chunked(CLIENT, frontend),
        "frontend-one-byte-reads": chunked(CLIENT, frontend[:31], [1] * 31),
        "copy-data-not-inspected": chunked(NONE, copy, [200, 3, 255]),
        "inspected-over-limit": chunked(0x01 | 4 << 2, message("Q", cstr("x" * 100))),
        "length-below-4": chunked(CLIENT, message("Q", cstr("SELECT 1")) + b"Q" + int32(3)),
        "length-negative": chunked(NONE, b"D" + int32(-1)),
    }
    for name, data in seeds.items():
        save("MessageFramer", name, data)


# --- SettingsGuard: the SQL of the Gate tests -------------------------------------------

LITERAL = re.compile(r'#"(?P<raw>.*?)"#|"(?P<escaped>(?:[^"\\\n]|\\.)*)"')
# Where a test hands SQL to the lexer or the guard.
SQL_CONTEXT = re.compile(r'(?:arguments:\s*\[|refused\(|check\(sql:|values\(|kinds\(|statements\(in:|let sql =|'
                         r'for sql in \[|tokens\(in:)\s*$')


def swift_unescape(text):
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            c = text[i + 1]
            if c == "u" and text[i + 2:i + 3] == "{":
                end = text.index("}", i)
                out.append(chr(int(text[i + 3:end], 16)))
                i = end + 1
                continue
            out.append(simple.get(c, c))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def test_literals(path, context):
    """String literals of a Swift test file that stand where `context` ends, or inside an
    `arguments: [...]` / `for ... in [...]` list."""
    source = path.read_text()
    found, depth_open = [], []
    for match in LITERAL.finditer(source):
        before = source[:match.start()]
        raw = match.group("raw")
        text = raw if raw is not None else match.group("escaped")
        if raw is None and "\\(" in text:
            continue   # interpolated
        list_start = max(before.rfind("arguments: ["), before.rfind(" in ["))
        in_list = list_start >= 0 and before.count("[", list_start) > before.count("]", list_start)
        if in_list or context.search(before[-40:]):
            found.append(text if raw is not None else swift_unescape(text))
    return found


def guard_seeds():
    gate = ROOT / "Tests" / "GateTests"
    statements = []
    for name in ["SettingsGuardTests.swift", "SettingsGuardPooledTests.swift", "SQLLexerTests.swift"]:
        statements += test_literals(gate / name, SQL_CONTEXT)
    for sql in dict.fromkeys(statements):
        if sql:
            save("SettingsGuard", "tests-" + hashlib.sha1(sql.encode()).hexdigest()[:12], sql.encode())


# --- AdminCommand: the lines of the admin tests ------------------------------------------

ADMIN_CONTEXT = re.compile(r'(?:parse\(|for line in \[)\s*$')
LIMIT_4096, LIMIT_8 = 4, 2   # setting % 5 picks the line limit: 1, 2, 8, 64, 4096


def admin_seeds():
    lines = test_literals(ROOT / "Tests" / "AdminTests" / "AdminCommandTests.swift", ADMIN_CONTEXT)
    for line in dict.fromkeys(lines):
        save("AdminCommand", "tests-" + hashlib.sha1(line.encode()).hexdigest()[:12],
             chunked(LIMIT_4096, line.encode() + b"\n"))
    conversation = b"PING\nbogus\n" + b"z" * 100 + b"\nSHOW ORGS\r\nBURST START org_acme\nINVALIDATE *\n"
    save("AdminCommand", "conversation-cut", chunked(LIMIT_4096, conversation, [2, 5, 1, 90, 40]))
    save("AdminCommand", "conversation-limit-8", chunked(LIMIT_8, b"12345678\n123456789\nPING\r\nok", [9, 10]))
    save("AdminCommand", "not-utf8", chunked(LIMIT_4096, b"\xff\xfe\nSHOW ORG \xc3\n"))


# --- capture ----------------------------------------------------------------------------

def startup_phase(client_bytes):
    """How many bytes of a client's stream are its startup phase: encryption requests, then
    the StartupMessage (or CancelRequest); and how many encryption requests it made."""
    offset, requests = 0, 0
    while offset + 8 <= len(client_bytes):
        length, code = struct.unpack(">ii", client_bytes[offset:offset + 8])
        offset += length
        if code not in (80877103, 80877104):
            break
        requests += 1
    return offset, requests


def capture(port, pg_port):
    """Relays 127.0.0.1:port to Postgres on pg_port. For each connection, keeps the client's
    startup phase as a StartupDecoder seed, and as MessageFramer seeds the server's regular
    messages (every type inspected) and the client's (Query and Parse inspected). Ends
    after a minute without a new connection."""
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(60)
    count = 0
    while True:
        try:
            client, _ = listener.accept()
        except socket.timeout:
            return
        count += 1
        threading.Thread(target=record_connection, args=(client, pg_port, f"captured-{count}")).start()


def record_connection(client, pg_port, name):
    server = socket.create_connection(("127.0.0.1", pg_port))
    streams = {"client": bytearray(), "server": bytearray()}

    def pump(src, dst, key):
        try:
            while data := src.recv(65536):
                streams[key] += data
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    threads = [threading.Thread(target=pump, args=(client, server, "client")),
               threading.Thread(target=pump, args=(server, client, "server"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    server.close()
    client_bytes, server_bytes = bytes(streams["client"]), bytes(streams["server"])
    startup_length, declined = startup_phase(client_bytes)
    save("StartupDecoder", name, client_bytes[:startup_length])
    # The server answers each encryption request with one byte ('N') before any message.
    if len(server_bytes) > declined:
        save("MessageFramer", name + "-server", chunked(ALL, server_bytes[declined:]))
    if len(client_bytes) > startup_length:
        save("MessageFramer", name + "-client", chunked(CLIENT, client_bytes[startup_length:]))
    print(f"[seeds] {name}: {len(client_bytes)} bytes from the client, {len(server_bytes)} from the server",
          flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["write"]:
        startup_seeds()
        framer_seeds()
        guard_seeds()
        admin_seeds()
    elif len(sys.argv) == 4 and sys.argv[1] == "capture":
        capture(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(__doc__)
