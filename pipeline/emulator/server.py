"""The HTTP side of the emulator: a threading server on loopback that routes
Converse, InvokeModel and ApplyGuardrail calls to a responder through the fault,
quota and billing steps; plus a boto3 client for it and the CLI loop."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import random
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from ..guardrail_policy import GuardrailPolicy
from .answers import Answer, converse_body, guardrail_body, invoke_body, shape_answer
from .billing import PromptCache
from .calls import (
    ERROR_STATUS,
    EmulatorRequest,
    Responder,
    as_reply,
    converse_request,
    invoke_request,
    validate_converse,
)
from .catalogue import foundation_model_body
from .faults import EmulatorFault, FaultConfig, marker_fault
from .guardrail import apply_guardrail_body
from .latency import LatencyProfile
from .quotas import QuotaWindows
from .responders import default_responder
from .stats import EmulatorStats
from .streaming import CONTENT_TYPE as STREAM_CONTENT_TYPE
from .streaming import stream_frames

logger = logging.getLogger(__name__)

DEFAULT_CLI_PORT = 8765
_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"
_ROUTE_MODEL = re.compile(r"^/model/([^/]+)/(converse-stream|converse|invoke)$")
_ROUTE_GUARDRAIL = re.compile(r"^/guardrail/([^/]+)/version/([^/]+)/apply$")
_ROUTE_FOUNDATION_MODEL = re.compile(r"^/foundation-models/([^/]+)$")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: BedrockEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Never print tracebacks (they could carry request data); note the type only."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            logger.warning("bedrock emulator: handler error %s", type(exc).__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "parley-bedrock-emulator"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections close after this
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: request lines and prompts are never logged."""

    def setup(self) -> None:
        super().setup()
        self.server.emulator._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.emulator._track(self.connection, add=False)

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        status, headers, payload = self.server.emulator._handle(method, self.path, raw)
        if not isinstance(payload, bytes):
            self._stream(status, headers, payload)
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.server.emulator._stopping.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, status: int, headers: dict[str, str], frames: Iterator[bytes]) -> None:
        """A ConverseStream answer: chunked, each event written as it is made."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for frame in frames:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, EmulatorFault):  # the client stopped reading (its deadline), or stop()
            self.close_connection = True


class BedrockEmulator:
    """A Bedrock Runtime endpoint on loopback, served from a daemon thread.

    `responder` and `faults` may be replaced at any time (`configure()` changes
    single fault fields). Use as a context manager or call `start()` / `stop()`.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        guardrails: Mapping[str, GuardrailPolicy] | None = None,
        latency: LatencyProfile | None = None,
    ) -> None:
        self.responder: Responder = responder or default_responder
        # ApplyGuardrail enforces these policies by guardrail id (others let all through).
        self.guardrails: dict[str, GuardrailPolicy] = dict(guardrails or {})
        # A whole-call latency distribution, added to FaultConfig's fixed latency.
        self.latency = latency
        self.host = host
        self.port = port
        self.stats = EmulatorStats()
        self._lock = threading.Lock()
        self._faults = FaultConfig()
        self._rng = random.Random()
        self.faults = faults or FaultConfig()
        self.quotas = QuotaWindows()
        self.prompt_cache = PromptCache()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._lifecycle = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- configuration

    @property
    def faults(self) -> FaultConfig:
        """The active FaultConfig; assigning one reseeds the random choices."""
        return self._faults

    @faults.setter
    def faults(self, value: FaultConfig) -> None:
        with self._lock:
            self._faults = value
            self._rng = random.Random(value.seed)

    def configure(self, **changes: Any) -> FaultConfig:
        """Change some fault fields, e.g. `configure(rpm=60, latency_ms=200)`."""
        self.faults = dataclasses.replace(self._faults, **changes)
        return self.faults

    def reset_stats(self) -> None:
        """Zero the stats counters."""
        self.stats.reset()

    def reset_quotas(self) -> None:
        """Forget the rpm/tpm windows."""
        self.quotas.reset()
        self.prompt_cache.reset()

    # ---- lifecycle

    @property
    def endpoint_url(self) -> str:
        """`http://HOST:PORT` once started."""
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return f"http://{host}:{port}"

    @property
    def running(self) -> bool:
        """Whether start() was called and stop() not yet."""
        return self._server is not None

    @property
    def open_connections(self) -> int:
        """Client connections currently open (keep-alive ones included)."""
        with self._lock:
            return len(self._connections)

    def start(self) -> BedrockEmulator:
        """Bind and serve in a background daemon thread."""
        with self._lifecycle:
            if self._server is not None:
                raise RuntimeError("emulator already started")
            self._stopping.clear()
            self._server = _Server((self.host, self.port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="bedrock-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: release hanging requests and close open connections."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            if server is None:
                return
            self._stopping.set()
            server.shutdown()
            with self._lock:
                connections = list(self._connections)
            for conn in connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            server.server_close()
            if thread is not None:
                thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> BedrockEmulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, **config: Any) -> Any:
        """A boto3 `bedrock-runtime` client for this endpoint (see `emulator_client`)."""
        return emulator_client(self.endpoint_url, **config)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # ---- request handling

    def _handle(
        self, method: str, raw_path: str, raw: bytes
    ) -> tuple[int, dict[str, str], bytes | Iterator[bytes]]:
        """Route one HTTP request; returns (status, headers, body)."""
        started = time.monotonic()
        path = urlsplit(raw_path).path
        catalogue = _ROUTE_FOUNDATION_MODEL.match(path)
        if method == "GET" and catalogue is not None:  # the control plane's GetFoundationModel
            found = foundation_model_body(unquote(catalogue.group(1)))
            if found is None:
                return self._error("ResourceNotFoundException", "The model was not found.")
            return self._ok(found)
        model = _ROUTE_MODEL.match(path)
        guard = _ROUTE_GUARDRAIL.match(path)
        if method != "POST" or (model is None and guard is None):
            return self._error("UnknownOperationException", f"No route for {method} {path}")
        if self._stopping.is_set():
            return self._error("ServiceUnavailableException", "The emulator is shutting down.")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._error(
                "ValidationException", "Malformed input request: expected a JSON object."
            )
        if guard is not None:
            guardrail_id = unquote(guard.group(1))
            self.stats.record_received(f"guardrail:{guardrail_id}")
            enforced = apply_guardrail_body(self.guardrails, guardrail_id, body)
            return self._ok(enforced if enforced is not None else guardrail_body(body))
        model_id, operation = unquote(model.group(1)), model.group(2)  # type: ignore[union-attr]
        self.stats.record_received(model_id)
        try:
            if operation in ("converse", "converse-stream"):
                problem = validate_converse(body)
                if problem is not None:
                    raise EmulatorFault("ValidationException", problem)
                request = converse_request(model_id, body)
            else:
                request = invoke_request(model_id, body)
            return self._serve(request, started, stream=operation == "converse-stream")
        except EmulatorFault as fault:
            return self._error(fault.code, fault.message)

    def _serve(
        self, request: EmulatorRequest, started: float, *, stream: bool = False
    ) -> tuple[int, dict[str, str], bytes | Iterator[bytes]]:
        faults = self._faults
        marker, marker_code = marker_fault(request.prompt_text)
        with self._lock:
            fault = marker if marker is not None else faults.draw(self._rng)
            which_5xx = self._rng.random()
            jitter = (
                self._rng.uniform(-faults.jitter_ms, faults.jitter_ms) if faults.jitter_ms else 0.0
            )
            drawn_s = self.latency.draw(self._rng) if self.latency is not None else 0.0
        if fault == "error" and marker_code:
            raise EmulatorFault(marker_code, f"Injected {marker_code} (emulator marker).")
        if fault == "throttle":
            raise EmulatorFault(
                "ThrottlingException", "Too many requests, please wait before trying again."
            )
        self.quotas.admit(request, faults)
        if fault == "hang":
            self._sleep(faults.hang_s)
        delay_s = max(0.0, faults.latency_ms + jitter) / 1000.0 + drawn_s
        # A stream sends its first words after the profile's share of the latency.
        share = self.latency.first_token_share if self.latency is not None else 0.0
        spread_s = drawn_s * (1.0 - share) if stream else 0.0
        self._sleep(delay_s - spread_s)
        if fault == "timeout":
            raise EmulatorFault(
                "ModelTimeoutException", "Model has timed out in processing the request."
            )
        if fault == "5xx" or fault in ("500", "503"):
            if fault == "503" or (fault == "5xx" and which_5xx >= 0.5):
                raise EmulatorFault(
                    "ServiceUnavailableException", "Service temporarily unavailable."
                )
            raise EmulatorFault(
                "InternalServerException", "The server encountered an internal error."
            )
        try:
            reply = as_reply(self.responder(request))
        except Exception as exc:  # a broken responder is the emulator's 500, not a crash
            logger.warning("bedrock emulator: responder raised %s", type(exc).__name__)
            raise EmulatorFault("InternalServerException", "Emulator responder failed.") from None
        if reply.error is not None:
            raise EmulatorFault(reply.error, f"Scripted {reply.error}.")
        answer = shape_answer(
            request, reply, fault if fault in ("malformed", "truncated") else None
        )
        latency_ms = int((time.monotonic() - started) * 1000)
        if request.operation == "converse":
            answer = self.prompt_cache.bill(request, answer)
            if stream:
                self._ok({}, answer)  # counted as served; the body follows as events
                headers = {
                    "Content-Type": STREAM_CONTENT_TYPE,
                    "x-amzn-RequestId": str(uuid.uuid4()),
                }
                return (
                    200,
                    headers,
                    stream_frames(answer, latency_ms, spread_s=spread_s, sleep=self._sleep),
                )
            return self._ok(converse_body(answer, latency_ms), answer)
        headers = {
            "X-Amzn-Bedrock-Input-Token-Count": str(answer.input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(answer.output_tokens),
            "X-Amzn-Bedrock-Invocation-Latency": str(latency_ms),
        }
        return self._ok(invoke_body(request.model_id, answer), answer, headers)

    def _sleep(self, seconds: float) -> None:
        """Sleep, woken early by stop() (then answer 503)."""
        if seconds > 0 and self._stopping.wait(seconds):
            raise EmulatorFault("ServiceUnavailableException", "The emulator is shutting down.")

    def _ok(
        self,
        body: dict[str, Any],
        answer: Answer | None = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        self.stats.record_answer(
            200,
            input_tokens=answer.input_tokens if answer else 0,
            output_tokens=answer.output_tokens if answer else 0,
            cache_read_tokens=answer.cache_read_tokens if answer else 0,
            cache_write_tokens=answer.cache_write_tokens if answer else 0,
        )
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
        headers.update(extra or {})
        return 200, headers, json.dumps(body).encode()

    def _error(self, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
        status = ERROR_STATUS[code]
        self.stats.record_answer(status, error=code)
        headers = {
            "Content-Type": "application/json",
            "x-amzn-RequestId": str(uuid.uuid4()),
            "x-amzn-ErrorType": code + _ERROR_TYPE_SUFFIX,
        }
        return status, headers, json.dumps({"message": message}).encode()


def emulator_client(endpoint_url: str, **config: Any) -> Any:
    """A boto3 `bedrock-runtime` client for an emulator at `endpoint_url` (dummy credentials).

    Keyword arguments go to `botocore.config.Config`; defaults: adaptive retries
    (3 attempts in all) and a pool of 50 connections. Note that in `retries`,
    botocore's `max_attempts` counts *retries*; `total_max_attempts` counts
    attempts (`{"mode": "standard", "total_max_attempts": 1}` never retries).
    """
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {
        "retries": {"mode": "adaptive", "total_max_attempts": 3},
        "max_pool_connections": 50,
    }
    options.update(config)
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**options),
    )


# ------------------------------------------------------------------------- CLI


def run_forever(emulator: BedrockEmulator, echo: Callable[[str], Any] = print) -> EmulatorStats:
    """Serve until Ctrl-C, printing the endpoint URL, then a one-line stats summary."""
    if not emulator.running:
        emulator.start()
    echo(f"Bedrock emulator listening on {emulator.endpoint_url}")
    try:
        while not emulator._stopping.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        echo(emulator.stats.summary())
    return emulator.stats


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_CLI_PORT,
    latency_ms: float = 0.0,
    jitter_ms: float = 0.0,
    rpm: int | None = None,
    tpm: int | None = None,
    throttle_rate: float = 0.0,
    error_5xx_rate: float = 0.0,
    timeout_rate: float = 0.0,
    hang_rate: float = 0.0,
    hang_s: float = 30.0,
    malformed_rate: float = 0.0,
    truncated_rate: float = 0.0,
    seed: int | None = None,
    responder: Responder | None = None,
    echo: Callable[[str], Any] = print,
) -> EmulatorStats:
    """Build an emulator from CLI options and run it until Ctrl-C."""
    faults = FaultConfig(
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        rpm=rpm,
        tpm=tpm,
        throttle_rate=throttle_rate,
        error_5xx_rate=error_5xx_rate,
        timeout_rate=timeout_rate,
        hang_rate=hang_rate,
        hang_s=hang_s,
        malformed_rate=malformed_rate,
        truncated_rate=truncated_rate,
        seed=seed,
    )
    return run_forever(BedrockEmulator(responder, faults, host=host, port=port), echo=echo)
