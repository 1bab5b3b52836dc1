"""The skill as a web service (`parley skill serve`), for hosting outside Lambda.

Every POST is verified as Alexa requires (`skill.verify.RequestVerifier`) before the
skill sees it: a request failing verification gets 400, one for another skill id
403. Verification can be turned off for local testing only (`verifier=None`).

TLS comes from a certificate and key file (`ssl.SSLContext`, handshake in the
connection's own thread, bounded by the read timeout); without them the server
speaks plain HTTP, which Alexa never calls: put it behind a TLS-terminating proxy.

The server is bounded, because an attacker needs no signature to connect: at most
`max_connections` connections are served at once (one thread each; the next ones are
refused and closed at once), a request must be read whole within `read_timeout_s`
(a deadline for the request, not per read, so a byte a second does not keep a
thread), and a body larger than `max_body_bytes` gets 413 without being read.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from ask_sdk_core.exceptions import AskSdkException

from pipeline.errors import ConfigError

from .handler import ForeignSkillError, InvalidEnvelopeError, handle_event
from .verify import VerificationError

if TYPE_CHECKING:
    from ask_sdk_core.skill import CustomSkill

    from .verify import RequestVerifier

logger = logging.getLogger("parley.skill.server")

MAX_BODY_BYTES = 256 * 1024
MAX_CONNECTIONS = 32
READ_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 5.0
_REFUSAL = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _DeadlineReader(io.RawIOBase):
    """A socket's read side that gives up at one deadline for the whole request."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request not read within the read timeout")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the accept loop is quick; a full backlog would stall connects

    def __init__(
        self, address: tuple[str, int], app: SkillServer, tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.tls = tls
        self.slots = threading.BoundedSemaphore(app.max_connections)
        self.accepted = self.refused = 0  # connections, counted by the accept loop's thread

    def process_request(self, request: Any, client_address: Any) -> None:
        # The accept loop's thread: refuse at once when every slot is taken.
        self.accepted += 1
        if not self.slots.acquire(blocking=False):
            self.refused += 1
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()  # the thread did not start
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def finish_request(self, request: Any, client_address: Any) -> None:
        deadline = time.monotonic() + self.app.read_timeout_s
        request.settimeout(self.app.read_timeout_s)
        if self.tls is None:
            _Handler(request, client_address, self, deadline)
            return
        # The handshake runs here, in the connection's own thread; CPython bounds all of
        # it by the socket's timeout (one deadline, not one per read).
        wrapped = self.tls.wrap_socket(request, server_side=True)
        try:
            _Handler(wrapped, client_address, self, deadline)
        finally:
            wrapped.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A reset, a failed handshake: one line with the error type, no traceback.
        error = sys.exc_info()[1]
        logger.info("connection dropped", extra={"error": type(error).__name__})

    def _refuse(self, request: socket.socket) -> None:
        if self.tls is None:
            try:
                request.setblocking(False)
                request.send(_REFUSAL)
            except OSError:
                pass
        self.shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "parley-skill"

    def __init__(
        self, request: Any, client_address: Any, server: _Server, deadline: float | None = None
    ) -> None:
        self.deadline = deadline or time.monotonic() + server.app.read_timeout_s
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self.deadline))

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the stdlib line holds the client address; our own log says what matters

    def do_POST(self) -> None:
        app = self.server.app
        status, payload = self._read_body(app.max_body_bytes)
        if status == 200:
            status, payload = app.respond(dict(self.headers.items()), payload)
        self._send(status, payload)

    def flush_headers(self) -> None:
        # Every reply (ours and the stdlib's errors) gets its own time to go out, not
        # whatever the read deadline left.
        self.connection.settimeout(WRITE_TIMEOUT_S)
        super().flush_headers()

    def do_GET(self) -> None:
        self.send_error(405, "POST Alexa requests here")

    def _read_body(self, limit: int) -> tuple[int, Any]:
        """(200, body bytes), or an error status and payload; never reads more than `limit`."""
        if self.headers.get("Transfer-Encoding"):
            return 411, {"error": "send a Content-Length, not a chunked body"}
        raw = self.headers.get("Content-Length")
        if raw is None:
            return 411, {"error": "Content-Length is required"}
        try:
            length = int(raw)
        except ValueError:
            return 400, {"error": "Content-Length is not a number"}
        if length <= 0:
            return 400, {"error": "a JSON body is required"}
        if length > limit:
            return 413, {"error": f"body larger than {limit} bytes"}
        body = self.rfile.read(length)  # raises TimeoutError at the deadline
        if len(body) < length:
            return 400, {"error": "body shorter than its Content-Length"}
        return 200, body

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def tls_context(certfile: str, keyfile: str | None) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2 or later) from PEM files; ConfigError if unusable."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate and key: {exc}") from None
    return context


class SkillServer:
    """The skill behind an HTTP(S) endpoint on `host:port` (port 0 picks a free one)."""

    def __init__(
        self,
        skill: CustomSkill,
        *,
        verifier: RequestVerifier | None,
        host: str = "127.0.0.1",
        port: int = 8443,
        certfile: str | None = None,
        keyfile: str | None = None,
        max_connections: int = MAX_CONNECTIONS,
        read_timeout_s: float = READ_TIMEOUT_S,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if max_connections < 1 or read_timeout_s <= 0 or max_body_bytes < 1:
            raise ConfigError("max_connections, read_timeout_s and max_body_bytes must be > 0")
        self.skill = skill
        self.verifier = verifier
        self.host = host
        self.port = port
        self.certfile = certfile
        self.keyfile = keyfile
        self.max_connections = max_connections
        self.read_timeout_s = read_timeout_s
        self.max_body_bytes = max_body_bytes
        self._tls = tls_context(certfile, keyfile) if certfile else None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def respond(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON payload for one POST (verification first, then the skill)."""
        if self.verifier is not None:
            try:
                self.verifier.verify(headers, body)
            except VerificationError as exc:
                logger.warning("request refused: %s", exc.reason)
                return 400, {"error": "request verification failed"}
            except Exception as exc:  # a bug in a check must not drop the connection
                logger.error("verification failed", extra={"error": type(exc).__name__})
                return 500, {"error": "internal error"}
        try:
            event = json.loads(body)
            return 200, handle_event(self.skill, event)
        except ForeignSkillError:
            return 403, {"error": "request is for another skill"}
        except (
            InvalidEnvelopeError,
            AskSdkException,
            ValueError,
            TypeError,
            AttributeError,
        ) as exc:
            logger.warning("bad request", extra={"error": type(exc).__name__})
            return 400, {"error": "not an Alexa request envelope"}
        except Exception as exc:  # the client gets a status, the log the error type
            logger.error("skill failed", extra={"error": type(exc).__name__})
            return 500, {"error": "internal error"}

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{host!s}:{port}/"

    def start(self) -> SkillServer:
        """Bind and serve from a daemon thread."""
        try:
            server = _Server((self.host, self.port), self, self._tls)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="parley-skill-server",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def accepted(self) -> int:
        """Connections accepted so far (served or refused)."""
        return self._server.accepted if self._server is not None else 0

    @property
    def refused(self) -> int:
        """Connections refused because every slot was taken."""
        return self._server.refused if self._server is not None else 0

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> SkillServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
