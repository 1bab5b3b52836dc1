"""The skill as an HTTPS web service (`parley skill serve`), for hosting outside Lambda.

Every POST is verified as Alexa requires (`skill.verify.RequestVerifier`) before the
skill sees it: a request failing verification gets 400, one for another skill id
403. Verification can be turned off for local testing only (`verifier=None`). TLS
comes from a certificate and key file; without them the server speaks plain HTTP,
which Alexa never calls (use it behind a TLS proxy or for local tests).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from ask_sdk_core.exceptions import AskSdkException

from .handler import ForeignSkillError, InvalidEnvelopeError, handle_event
from .verify import VerificationError

if TYPE_CHECKING:
    from ask_sdk_core.skill import CustomSkill

    from .verify import RequestVerifier

logger = logging.getLogger("parley.skill.server")

MAX_BODY_BYTES = 256 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: SkillServer) -> None:
        super().__init__(address, _Handler)
        self.app = app


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "parley-skill"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the stdlib line holds the client address; our own log says what matters

    def do_POST(self) -> None:
        status, payload = self.server.app.respond(dict(self.headers.items()), self._body())
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.send_error(405, "POST Alexa requests here")

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return None
        if length <= 0 or length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length)


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
    ) -> None:
        self.skill = skill
        self.verifier = verifier
        self.host = host
        self.port = port
        self.certfile = certfile
        self.keyfile = keyfile
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def respond(self, headers: dict[str, str], body: bytes | None) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON payload for one POST (verification first, then the skill)."""
        if body is None:
            return 400, {"error": "a JSON body of at most 256 KiB is required"}
        if self.verifier is not None:
            try:
                self.verifier.verify(headers, body)
            except VerificationError as exc:
                logger.warning("request refused: %s", exc.reason)
                return 400, {"error": "request verification failed"}
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
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://{host!s}:{port}/"

    def start(self) -> SkillServer:
        """Bind and serve from a daemon thread."""
        server = _Server((self.host, self.port), self)
        if self.certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certfile, self.keyfile)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="parley-skill-server",
            daemon=True,
        )
        self._thread.start()
        return self

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
