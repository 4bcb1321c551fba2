"""A loopback HTTPS server for agent documents, reached through DOT's real fetcher.

DOT's :class:`~oauth2_provider.cimd.SafeMetadataFetcher` refuses loopback addresses, as it
must. The test host ``agents.test`` is resolved to 127.0.0.1 by a patched resolver that
still refuses every other non-public address, and the fetcher trusts this server's
self-signed certificate; everything else (TLS, Host header, no redirects, size and time
limits, Cache-Control) is DOT's code as shipped. No test reaches the network.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from oauth2_provider import cimd

HOST = "agents.test"


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0


@dataclass
class DocumentServer:
    port: int
    routes: dict[str, Route]
    hits: dict[str, int]

    def url(self, path: str) -> str:
        return f"https://{HOST}:{self.port}{path}"

    def serve_json(self, path: str, document: Any, **kwargs: Any) -> str:
        self.routes[path] = Route(body=json.dumps(document).encode(), **kwargs)
        return self.url(path)


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentServer]:
    """Run the server for one test (the body of the ``document_server`` fixture)."""
    routes: dict[str, Route] = {}
    hits: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits[self.path] = hits.get(self.path, 0) + 1
            route = routes.get(self.path)
            if route is None:
                self.send_response(404)
                self.end_headers()
                return
            if route.delay:
                time.sleep(route.delay)
            try:
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = _certificate(Path(folder))
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert_path, key_path)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()

        real_resolve = cimd._resolve_and_validate

        def resolve(hostname: str, port: int) -> list[str]:
            if hostname == HOST:
                return ["127.0.0.1"]
            return list(real_resolve(hostname, port))

        def client_context() -> ssl.SSLContext:
            context = ssl.create_default_context(cafile=str(cert_path))
            return context

        monkeypatch.setattr(cimd, "_resolve_and_validate", resolve)
        monkeypatch.setattr(cimd, "ssl", SimpleNamespace(create_default_context=client_context))
        try:
            yield DocumentServer(port=httpd.server_address[1], routes=routes, hits=hits)
        finally:
            httpd.shutdown()
            httpd.server_close()


def loopback_is_refused_by_dot() -> bool:
    """DOT's own rule, unpatched: a loopback address is not public."""
    return not cimd._ip_is_public(str(ipaddress.ip_address("127.0.0.1")))
