"""A TLS-terminating front for a loopback cara_fed, on one port that also passes plain http through.

Why: Fedify (like Mastodon) resolves ``acct:user@host`` with WebFinger over **https** only
(@fedify/fedify 1.5.9, esm/webfinger/lookup.js: ``let protocol = "https:"`` unless the resource is a URL),
while a cara_fed whose domain is a loopback address publishes http ids. In production a reverse proxy
terminates TLS in front of cara_fed; here this front does it, on the instance's own port: a connection
whose first byte is a TLS handshake record (0x16) is decrypted with a throw-away CA's certificate for
127.0.0.1 (given to Node with NODE_EXTRA_CA_CERTS), anything else is relayed as it is. Bytes are relayed
unchanged (Host header included), so signatures verify exactly as they would without the front.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TLS_HANDSHAKE = 0x16


@dataclass(frozen=True)
class LoopbackCA:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


def make_loopback_ca(directory: Path) -> LoopbackCA:
    """A CA and a leaf certificate for the IP address 127.0.0.1 (and localhost)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cara_fed interop test CA")])
    usage = x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False)
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    names = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                         x509.DNSName("localhost")])
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
        .add_extension(names, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    ca = LoopbackCA(ca_file=directory / "ca.pem", cert_file=directory / "leaf.pem",
                    key_file=directory / "leaf.key")
    ca.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    ca.cert_file.write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    ca.key_file.write_bytes(leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca


class TlsFront:
    """Listens on ``sock`` and relays every connection to 127.0.0.1:``backend_port``."""

    def __init__(self, sock: socket.socket, backend_port: int, ca: LoopbackCA) -> None:
        self.sock = sock
        self.backend_port = backend_port
        self.context = ca.server_context()
        self.tls_connections = 0
        self.plain_connections = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self.sock.setblocking(False)
        while True:
            conn, _ = await loop.sock_accept(self.sock)
            task = asyncio.create_task(self._connection(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        writers: list[asyncio.StreamWriter] = []
        try:
            readable: asyncio.Future[None] = loop.create_future()

            def on_readable() -> None:
                if not readable.done():
                    readable.set_result(None)

            loop.add_reader(conn.fileno(), on_readable)
            try:
                await asyncio.wait_for(readable, timeout=30)
            finally:
                loop.remove_reader(conn.fileno())
            first = conn.recv(1, socket.MSG_PEEK)
            if not first:
                conn.close()
                return
            tls = first[0] == TLS_HANDSHAKE
            reader = asyncio.StreamReader()
            protocol = asyncio.StreamReaderProtocol(reader)
            transport, _ = await loop.connect_accepted_socket(lambda: protocol, conn,
                                                              ssl=self.context if tls else None)
            client_writer = asyncio.StreamWriter(transport, protocol, reader, loop)
            writers.append(client_writer)
            if tls:
                self.tls_connections += 1
            else:
                self.plain_connections += 1
            backend_reader, backend_writer = await asyncio.open_connection("127.0.0.1", self.backend_port)
            writers.append(backend_writer)
            upstream = asyncio.create_task(_pump(reader, backend_writer))  # ends with a write_eof upstream
            try:
                await _pump(backend_reader, client_writer)  # the backend closed: so does the client side
            finally:
                upstream.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await upstream
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError):
            pass  # a client that went away: nothing to relay
        finally:
            for writer in writers:
                writer.close()
            if not writers:
                conn.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError, NotImplementedError):
            if writer.can_write_eof():
                writer.write_eof()


@contextlib.asynccontextmanager
async def tls_front(backend_port: int, ca: LoopbackCA, sock: socket.socket) -> AsyncIterator[TlsFront]:
    front = TlsFront(sock, backend_port, ca)
    task = asyncio.create_task(front.serve(), name=f"tls front :{front.port}")
    try:
        yield front
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await front.close()
        sock.close()
