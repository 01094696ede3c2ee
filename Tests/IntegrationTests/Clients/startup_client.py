#!/usr/bin/env python3
"""A Postgres client whose startup packet is exactly what it is told, for tests that play
drivers the machine does not have (node-postgres, Npgsql) or send what no driver would
(a second `user`, a server switch in `options`).

    startup_client.py --port P [--password PW] [--query SQL] [--tls request|direct
                      [--cafile CA] [--server-name NAME] [--alpn PROTO]] name=value ...

Sends a StartupMessage with the name=value pairs in order (a name may repeat), answers
SCRAM-SHA-256 (or a cleartext/MD5-less trust login), runs --query with the simple protocol,
and prints one JSON object:
    {"authRequested": bool, "negotiated": [...], "parameters": {...}, "rows": [[...]],
     "error": {"C": sqlstate, "M": message, "S": severity} or null}
With --tls, the connection is encrypted first: after an SSLRequest answered 'S' (request)
or from the first byte (direct, Postgres 17's direct TLS, with ALPN "postgresql" unless
--alpn says otherwise or is empty); --server-name is sent as SNI (and verified against
--cafile's chain when given). The object then also has "tls": {"version", "alpn"}, or
"tlsError" when the server answered 'N' or the handshake failed.
Exit status 0 whether or not the server refused: the caller judges the object.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import sys
import time


def message(kind, body):
    return kind + struct.pack("!I", len(body) + 4) + body


def cstr(text):
    return text.encode() + b"\0"


class Connection:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buffer = b""

    def start_tls(self, mode, cafile, server_name, alpn):
        """Encrypts the connection; returns an error text, or None."""
        if mode == "request":
            self.sock.sendall(struct.pack("!II", 8, 80877103))
            answer = self.sock.recv(1)
            if answer != b"S":
                return "server answered %r to SSLRequest" % answer
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if cafile:
            context.load_verify_locations(cafile)
        else:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if alpn:
            context.set_alpn_protocols([alpn])
        try:
            self.sock = context.wrap_socket(self.sock, server_hostname=server_name or None)
        except (ssl.SSLError, OSError) as error:
            return "handshake failed: %s" % error
        return None

    def read(self):
        while True:
            if len(self.buffer) >= 5:
                length = struct.unpack("!I", self.buffer[1:5])[0]
                if len(self.buffer) >= 1 + length:
                    kind, body = self.buffer[:1], self.buffer[5:1 + length]
                    self.buffer = self.buffer[1 + length:]
                    return kind, body
            try:
                chunk = self.sock.recv(65536)
            except (ssl.SSLError, ConnectionResetError):
                chunk = b""
            if not chunk:
                return None, b""
            self.buffer += chunk


def fields(body):
    out = {}
    for part in body.split(b"\0"):
        if part:
            out[chr(part[0])] = part[1:].decode(errors="replace")
    return out


def scram(conn, password, mechanisms):
    if "SCRAM-SHA-256" not in mechanisms:
        raise SystemExit("no SCRAM-SHA-256 offered: %r" % mechanisms)
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=,r=" + nonce
    first = ("n,," + first_bare).encode()
    conn.sock.sendall(message(b"p", cstr("SCRAM-SHA-256") + struct.pack("!i", len(first)) + first))
    kind, body = conn.read()
    if kind != b"R" or struct.unpack("!I", body[:4])[0] != 11:
        return kind, body
    server_first = body[4:].decode()
    attrs = dict(item.split("=", 1) for item in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_bare = "c=biws,r=" + attrs["r"]
    auth_message = ",".join([first_bare, server_first, final_bare]).encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    conn.sock.sendall(message(b"p", (final_bare + ",p=" + base64.b64encode(proof).decode()).encode()))
    return None, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--password", default="")
    parser.add_argument("--query")
    parser.add_argument("--version", default="3.0", help="protocol version MAJOR.MINOR")
    parser.add_argument("--tls", choices=["request", "direct"])
    parser.add_argument("--cafile")
    parser.add_argument("--server-name")
    parser.add_argument("--alpn", default="postgresql")
    parser.add_argument("--cancel-after", type=float,
                        help="seconds after sending --query, cancel it from a new connection encrypted as this one")
    parser.add_argument("parameters", nargs="*", help="name=value, in order")
    args = parser.parse_args()

    major, minor = (int(x) for x in args.version.split("."))
    body = struct.pack("!HH", major, minor)
    for pair in args.parameters:
        name, value = pair.split("=", 1)
        body += cstr(name) + cstr(value)
    body += b"\0"
    conn = Connection(args.port)
    result = {"authRequested": False, "negotiated": [], "parameters": {}, "rows": [], "error": None}
    if args.tls:
        problem = conn.start_tls(args.tls, args.cafile, args.server_name, args.alpn)
        if problem:
            result["tlsError"] = problem
            print(json.dumps(result))
            return 0
        result["tls"] = {"version": conn.sock.version(), "alpn": conn.sock.selected_alpn_protocol()}
    conn.sock.sendall(struct.pack("!I", len(body) + 4) + body)
    pending = None
    key = b""
    while True:
        kind, body = pending or conn.read()
        pending = None
        if kind is None:
            break
        if kind == b"E":
            result["error"] = fields(body)
            break
        if kind == b"v":
            count = struct.unpack("!I", body[4:8])[0]
            result["negotiated"] = [n.decode() for n in body[8:].split(b"\0")[:count]]
        elif kind == b"S":
            name, value = body.split(b"\0")[:2]
            result["parameters"][name.decode()] = value.decode()
        elif kind == b"R":
            code = struct.unpack("!I", body[:4])[0]
            if code == 10:
                result["authRequested"] = True
                mechanisms = [m.decode() for m in body[4:].split(b"\0") if m]
                k, b = scram(conn, args.password, mechanisms)
                if k is not None:
                    pending = (k, b)
            elif code == 3:
                result["authRequested"] = True
                conn.sock.sendall(message(b"p", cstr(args.password)))
        elif kind == b"K":
            key = body
        elif kind == b"Z":
            if args.query is None:
                break
            conn.sock.sendall(message(b"Q", cstr(args.query)))
            args.query = None
            if args.cancel_after is not None:
                time.sleep(args.cancel_after)
                canceller = Connection(args.port)
                if args.tls:
                    problem = canceller.start_tls(args.tls, args.cafile, args.server_name, args.alpn)
                    if problem:
                        result["tlsError"] = "cancel connection: " + problem
                canceller.sock.sendall(struct.pack("!II", 16, 80877102) + key)
                canceller.sock.close()
        elif kind == b"D":
            count = struct.unpack("!H", body[:2])[0]
            row, offset = [], 2
            for _ in range(count):
                length = struct.unpack("!i", body[offset:offset + 4])[0]
                offset += 4
                if length < 0:
                    row.append(None)
                else:
                    row.append(body[offset:offset + length].decode())
                    offset += length
            result["rows"].append(row)
    try:
        conn.sock.sendall(message(b"X", b""))
    except OSError:
        pass
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
