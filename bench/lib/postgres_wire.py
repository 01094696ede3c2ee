"""A minimal Postgres frontend: just enough of protocol 3.0 to open a real session.

The benchmark needs two things libpq's tools do not give it: the time one connection
takes from TCP connect to the first ReadyForQuery (pgbench only reports an average), and
thousands of idle sessions held open at once (one psql per session would measure psql).
Both need a session that is real for the server and for every proxy in between: startup
packet, authentication (trust, cleartext, MD5 or SCRAM-SHA-256, whatever the server
asks), parameter status, backend key, ReadyForQuery. That is all this module does.

Message layouts follow the Postgres docs, "Message Formats" (protocol 3.0), and
SCRAM follows RFC 5802/7677 as Postgres uses it ("SASL Authentication"): no channel
binding, an empty user name in the client-first message.
"""

import asyncio
import base64
import hashlib
import hmac
import os
import socket
import struct
import time

PROTOCOL_3_0 = 196608

# Authentication request codes of the 'R' message.
AUTH_OK = 0
AUTH_CLEARTEXT = 3
AUTH_MD5 = 5
AUTH_SASL = 10
AUTH_SASL_CONTINUE = 11
AUTH_SASL_FINAL = 12


class ServerError(Exception):
    """An ErrorResponse from the server (or a proxy), with its SQLSTATE and message."""

    def __init__(self, fields):
        self.sqlstate = fields.get("C", "")
        self.message = fields.get("M", "")
        super().__init__(f"{fields.get('S', 'ERROR')} {self.sqlstate}: {self.message}")


class ProtocolError(Exception):
    """The peer sent something this client does not expect at this point."""


def startup_packet(user, database, application_name="tiergate-bench"):
    body = struct.pack("!i", PROTOCOL_3_0)
    for key, value in (("user", user), ("database", database), ("application_name", application_name)):
        body += key.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def message(type_byte, payload=b""):
    return type_byte + struct.pack("!i", len(payload) + 4) + payload


TERMINATE = message(b"X")


def error_fields(payload):
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


class ScramClient:
    """SCRAM-SHA-256 client side, one exchange. Verifies the server's signature."""

    MECHANISM = "SCRAM-SHA-256"

    def __init__(self, password):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.client_first_bare = f"n=,r={self.nonce}"
        self.server_signature = None

    def initial_response(self):
        data = ("n,," + self.client_first_bare).encode()
        payload = self.MECHANISM.encode() + b"\0" + struct.pack("!i", len(data)) + data
        return message(b"p", payload)

    def final_response(self, server_first):
        server_first = server_first.decode()
        attrs = dict(item.split("=", 1) for item in server_first.split(","))
        nonce, salt, iterations = attrs["r"], base64.b64decode(attrs["s"]), int(attrs["i"])
        if not nonce.startswith(self.nonce):
            raise ProtocolError("SCRAM: server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self.client_first_bare},{server_first},{without_proof}".encode()
        signature = hmac.digest(stored_key, auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        self.server_signature = hmac.digest(server_key, auth_message, "sha256")
        return message(b"p", f"{without_proof},p={base64.b64encode(proof).decode()}".encode())

    def verify_final(self, server_final):
        attrs = dict(item.split("=", 1) for item in server_final.decode().split(","))
        if base64.b64decode(attrs.get("v", "")) != self.server_signature:
            raise ProtocolError("SCRAM: wrong server signature")


def md5_response(user, password, salt):
    inner = hashlib.md5(password.encode() + user.encode()).hexdigest()
    return message(b"p", ("md5" + hashlib.md5(inner.encode() + salt).hexdigest()).encode() + b"\0")


class StartupExchange:
    """The session-opening conversation as a state machine over whole messages.

    `receive(type, payload)` returns the bytes to send back (possibly empty) and sets
    `ready` once ReadyForQuery arrives. It never touches a socket, so the blocking and
    the asyncio clients below share it.
    """

    def __init__(self, user, password):
        self.user, self.password = user, password
        self.scram = None
        self.ready = False

    def receive(self, type_byte, payload):
        if type_byte == b"E":
            raise ServerError(error_fields(payload))
        if type_byte == b"R":
            code = struct.unpack_from("!i", payload)[0]
            if code == AUTH_OK:
                return b""
            if code == AUTH_CLEARTEXT:
                return message(b"p", self.password.encode() + b"\0")
            if code == AUTH_MD5:
                return md5_response(self.user, self.password, payload[4:8])
            if code == AUTH_SASL:
                mechanisms = payload[4:].split(b"\0")
                if ScramClient.MECHANISM.encode() not in mechanisms:
                    raise ProtocolError(f"no supported SASL mechanism in {mechanisms!r}")
                self.scram = ScramClient(self.password)
                return self.scram.initial_response()
            if code == AUTH_SASL_CONTINUE and self.scram:
                return self.scram.final_response(payload[4:])
            if code == AUTH_SASL_FINAL and self.scram:
                self.scram.verify_final(payload[4:])
                return b""
            raise ProtocolError(f"unsupported authentication request {code}")
        if type_byte == b"Z":
            self.ready = True
        # 'S' ParameterStatus, 'K' BackendKeyData, 'N' NoticeResponse: nothing to answer.
        return b""


def _recv_exact(sock, count):
    chunks, remaining = [], count
    while remaining:
        chunk = sock.recv(remaining)
        if not chunk:
            raise ProtocolError("connection closed during startup")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class BlockingSession:
    """One session over a blocking socket: the startup, then simple-protocol queries."""

    def __init__(self, host, port, user, password, database, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.sendall(startup_packet(user, database))
            exchange = StartupExchange(user, password)
            while not exchange.ready:
                type_byte, payload = self._read_message()
                reply = exchange.receive(type_byte, payload)
                if reply:
                    self.sock.sendall(reply)
        except BaseException:
            self.sock.close()
            raise

    def _read_message(self):
        header = _recv_exact(self.sock, 5)
        length = struct.unpack_from("!i", header, 1)[0]
        return header[:1], _recv_exact(self.sock, length - 4)

    def query(self, sql):
        """Run one simple Query and wait for its ReadyForQuery; rows are read and dropped."""
        self.sock.sendall(message(b"Q", sql.encode() + b"\0"))
        error = None
        while True:
            type_byte, payload = self._read_message()
            if type_byte == b"E":
                error = ServerError(error_fields(payload))
            elif type_byte == b"Z":
                if error:
                    raise error
                return

    def close(self):
        try:
            self.sock.sendall(TERMINATE)
        except OSError:
            pass
        self.sock.close()


def timed_connection(host, port, user, password, database, timeout=10.0):
    """Open a session, close it, and return the microseconds from the start of the TCP
    connect to the receipt of the first ReadyForQuery (the time a client waits before it
    can send its first query). The Terminate and close are not timed."""
    start = time.perf_counter_ns()
    session = BlockingSession(host, port, user, password, database, timeout)
    elapsed = time.perf_counter_ns() - start
    session.close()
    return elapsed / 1000.0


def timed_query(session, sql):
    """Microseconds from sending a simple Query to receiving its ReadyForQuery."""
    start = time.perf_counter_ns()
    session.query(sql)
    return (time.perf_counter_ns() - start) / 1000.0


async def open_idle_session(host, port, user, password, database, timeout=30.0):
    """Open a session with asyncio and return its (reader, writer) once ReadyForQuery
    arrives; the caller holds it idle and later calls `close_idle_session`."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(startup_packet(user, database))
        exchange = StartupExchange(user, password)
        while not exchange.ready:
            header = await asyncio.wait_for(reader.readexactly(5), timeout)
            length = struct.unpack_from("!i", header, 1)[0]
            reply = exchange.receive(header[:1], await asyncio.wait_for(reader.readexactly(length - 4), timeout))
            if reply:
                writer.write(reply)
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def close_idle_session(session):
    _, writer = session
    try:
        writer.write(TERMINATE)
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()
    try:
        await writer.wait_closed()
    except ConnectionError:
        pass
