"""`parley skill serve` under attack: an attacker needs no signature to connect, so the
server bounds connections, read time and body size, never downloads a certificate for a
forged request, and speaks TLS when given a certificate. Loopback only.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pipeline.cli import skill as skill_cli
from pipeline.errors import ConfigError
from pipeline.models.replay import ReplayModel
from skill import server as skill_server
from skill.server import SkillServer
from skill.verify import RequestVerifier
from tests.conftest import REPO, load_fixture
from tests.test_skill_verify import (
    CERT_URL,
    Chain,
    Fetcher,
    body,
    headers,
    make_chain,
    post,
    sign,
    skill_for,
)

HOST = "127.0.0.1"


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def connection_threads() -> int:
    return sum("process_request_thread" in t.name for t in threading.enumerate())


def settled_thread_count() -> int:
    """threading.active_count() once no server of an earlier test holds a connection."""
    assert wait_until(lambda: connection_threads() == 0)
    return threading.active_count()


def connect(server: SkillServer) -> socket.socket:
    host, port = server.url.split("//")[1].rstrip("/").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """True if the server closes (or resets) the connection within `within_s`."""
    sock.settimeout(within_s)
    try:
        while sock.recv(4096):
            pass  # a response before the close is fine
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


@pytest.fixture
def open_server() -> Iterator[tuple[SkillServer, ReplayModel]]:
    """No verification: these tests are about the transport, not the signature."""
    model = ReplayModel(default="Hello from Pip!")
    with SkillServer(
        skill_for(model), verifier=None, host=HOST, port=0, read_timeout_s=0.5, max_connections=8
    ) as server:
        yield server, model


# ------------------------------------------------------------- read time and body size


def test_a_body_shorter_than_its_content_length_times_out_and_closes(open_server: Any) -> None:
    server, model = open_server
    sock = connect(server)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")

    started = time.monotonic()
    assert closed_by_server(sock, within_s=5)
    assert time.monotonic() - started < 2  # read timeout 0.5 s
    assert model.history == []


def test_a_byte_a_second_cannot_stretch_the_read_deadline(open_server: Any) -> None:
    server, _ = open_server
    sock = connect(server)
    started = time.monotonic()
    closed = False
    for byte in b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}":
        try:
            sock.send(bytes([byte]))
        except OSError:
            closed = True
            break
        sock.settimeout(0.1)  # each byte well within a per-read timeout of 0.5 s
        try:
            if sock.recv(4096) == b"":
                closed = True
                break
        except TimeoutError:
            pass
        except OSError:
            closed = True
            break
    assert closed, "the server waited for the whole drip"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"Content-Length: 1000000000\r\n", 413),
        (b"Content-Length: 262145\r\n", 413),
        (b"Transfer-Encoding: chunked\r\n", 411),
        (b"", 411),
        (b"Content-Length: -5\r\n", 400),
        (b"Content-Length: lots\r\n", 400),
    ],
)
def test_bodies_without_a_usable_length_are_refused_unread(
    open_server: Any, head: bytes, status: int
) -> None:
    server, model = open_server
    sock = connect(server)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")

    reply = sock.makefile("rb").read()

    assert reply.split(b"\r\n", 1)[0].split(b" ")[1] == str(status).encode()
    assert model.history == []


# --------------------------------------------------------------- connections and threads


def test_300_idle_and_slow_sockets_leave_no_thread_and_the_server_still_answers() -> None:
    """RELIABILITY.md: forged or slow requests that tie up `skill serve`: 0 threads left."""
    model = ReplayModel(default="Still here.")
    with SkillServer(
        skill_for(model), verifier=None, host=HOST, port=0, read_timeout_s=1.0, max_connections=16
    ) as server:
        baseline = settled_thread_count()
        peak = baseline
        sockets = []
        for i in range(300):
            sock = connect(server)
            if i % 3 == 1:  # a slow request: headers promise a body that never comes
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
            elif i % 3 == 2:  # half a request line
                sock.sendall(b"POST / HT")
            sockets.append(sock)
            peak = max(peak, threading.active_count())

        assert peak <= baseline + 16  # one thread per served connection, never more
        assert server.refused > 0

        # The read deadline frees every slot while the attacker's sockets are still open.
        assert wait_until(lambda: server.accepted == 300, timeout_s=10)  # backlog drained
        assert wait_until(lambda: threading.active_count() == baseline, timeout_s=10)
        status, payload = post(server.url, body(), {})
        assert status == 200
        assert "Still here." in payload["response"]["outputSpeech"]["ssml"]

        for sock in sockets:
            sock.close()
        assert wait_until(lambda: threading.active_count() == baseline, timeout_s=10)
        left = threading.active_count() - baseline
    assert left == 0


def test_beyond_max_connections_a_client_is_refused_at_once() -> None:
    model = ReplayModel(default="x")
    with SkillServer(
        skill_for(model), verifier=None, host=HOST, port=0, read_timeout_s=3.0, max_connections=2
    ) as server:
        settled_thread_count()
        holders = [connect(server), connect(server)]
        assert wait_until(lambda: connection_threads() == 2)
        extra = connect(server)

        started = time.monotonic()
        reply = extra.makefile("rb").read()

        assert time.monotonic() - started < 1  # refused now, not after the read timeout
        assert reply.startswith(b"HTTP/1.0 503")
        assert server.refused == 1
        for sock in [*holders, extra]:
            sock.close()


# ------------------------------------------------------------ verification before download


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_chain()


@pytest.fixture
def verified(chain: Chain) -> Iterator[tuple[SkillServer, RequestVerifier, Fetcher, ReplayModel]]:
    model = ReplayModel(default="Verified hello.")
    fetcher = Fetcher(chain.pem())
    check = RequestVerifier(trusted_roots=[chain.root], fetcher=fetcher)
    with SkillServer(skill_for(model), verifier=check, host=HOST, port=0) as server:
        yield server, check, fetcher, model


def _with_timestamp(stamp: Any) -> bytes:
    event = load_fixture("alexa/intent-chat.json")
    event["request"]["timestamp"] = stamp
    return json.dumps(event).encode()


def test_forged_requests_never_download_a_certificate(verified: Any, chain: Chain) -> None:
    server, check, fetcher, model = verified
    fresh = body(datetime.now(UTC))
    good_signature = sign(fresh, chain.leaf_key)
    forged: list[tuple[bytes, dict[str, str]]] = [
        (fresh, {}),  # unsigned
        (fresh, {"SignatureCertChainUrl": CERT_URL}),  # no signature
        (fresh, {"SignatureCertChainUrl": CERT_URL, "Signature-256": "not base64!"}),
        (fresh, {"SignatureCertChainUrl": CERT_URL, "Signature-256": "c2hvcnQ="}),  # 5 bytes
        # a genuine signature over a stale body: refused on the timestamp, before any fetch
        (
            stale := body(datetime.now(UTC) - timedelta(hours=1)),
            headers(stale, chain.leaf_key),
        ),
    ]
    # every variant of the URL that a cache keyed by the raw text would fetch again
    for i in range(20):
        for variant in (
            f"{CERT_URL}?x={i}",
            f"{CERT_URL}#{i}",
            f"https://user{i}@s3.amazonaws.com/echo.api/echo-api-cert-12.pem",
            f"https://s3.amazonaws.com/echo.api\\..\\{i}.pem",
            f"https://s3.amazonaws.com/echo.api/%2e%2e/{i}.pem",
        ):
            forged.append(
                (fresh, {"SignatureCertChainUrl": variant, "Signature-256": good_signature})
            )

    statuses = {post(server.url, data, sent)[0] for data, sent in forged}

    assert statuses == {400}
    assert fetcher.urls == []
    assert check.downloads == 0
    assert model.history == []


def test_spellings_of_one_url_share_one_download(verified: Any, chain: Chain) -> None:
    server, check, fetcher, model = verified
    spellings = [
        CERT_URL,
        "HTTPS://S3.AmazonAWS.com/echo.api/echo-api-cert-12.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert-12.pem",
        "https://s3.amazonaws.com/echo.api/./x/../echo-api-cert-12.pem",
    ]
    for url in spellings:
        data = body(datetime.now(UTC))
        assert post(server.url, data, headers(data, chain.leaf_key, url))[0] == 200

    assert fetcher.urls == [CERT_URL]  # the normalised URL is what is fetched
    assert check.downloads == 1
    assert len(model.history) == len(spellings)


@pytest.mark.parametrize("stamp", [1764460800, 1764460800.5, None, ["2026-11-30T00:00:00Z"], {}])
def test_a_signed_body_with_a_timestamp_that_is_not_a_string_gets_400(
    verified: Any, chain: Chain, stamp: Any
) -> None:
    server, _, _, model = verified
    data = _with_timestamp(stamp)

    status, payload = post(server.url, data, headers(data, chain.leaf_key))

    assert (status, payload) == (400, {"error": "request verification failed"})
    assert model.history == []


@pytest.mark.parametrize("data", [b"[]", b'"x"', b"{not json", b'{"request": []}'])
def test_signed_bodies_that_are_not_envelopes_get_400(
    verified: Any, chain: Chain, data: bytes
) -> None:
    server, _, _, model = verified

    status, _ = post(server.url, data, headers(data, chain.leaf_key))

    assert status == 400
    assert model.history == []


# ----------------------------------------------------------------------------------- TLS


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made here (no key is stored in the repo)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "parley test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def test_with_a_certificate_the_server_speaks_tls(tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    model = ReplayModel(default="Over TLS.")
    client = ssl.create_default_context(cafile=str(certfile))

    with SkillServer(
        skill_for(model),
        verifier=None,
        host=HOST,
        port=0,
        certfile=str(certfile),
        keyfile=str(keyfile),
        read_timeout_s=0.5,
    ) as server:
        baseline = settled_thread_count()
        silent = connect(server)  # connects, never says hello: the handshake times out
        request = urllib.request.Request(server.url, data=body(), method="POST")
        with urllib.request.urlopen(request, timeout=5, context=client) as response:
            status, payload = response.status, json.loads(response.read())
        plain = connect(server)
        plain.sendall(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        assert closed_by_server(plain, within_s=5)  # plain HTTP on a TLS port: dropped
        assert closed_by_server(silent, within_s=5)
        assert wait_until(lambda: threading.active_count() == baseline)
        url = server.url

    assert url.startswith("https://")
    assert status == 200
    assert "Over TLS." in payload["response"]["outputSpeech"]["ssml"]
    assert len(model.history) == 1


def test_an_unusable_certificate_is_a_config_error(tmp_path: Path) -> None:
    certfile, _ = self_signed(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")

    with pytest.raises(ConfigError, match="cannot load the TLS certificate"):
        SkillServer(
            skill_for(ReplayModel()), verifier=None, certfile=str(certfile), keyfile=str(junk)
        )


# ------------------------------------------------------------------ the serve command


def test_cli_defaults_match_the_server() -> None:
    assert skill_cli.MAX_CONNECTIONS == skill_server.MAX_CONNECTIONS
    assert skill_cli.READ_TIMEOUT_S == skill_server.READ_TIMEOUT_S


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    return {**env, "PARLEY_HISTORY": "sqlite::memory:", **extra}


def _parley(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "skill", "serve", "--port", "0", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {}, "no skill id: set PARLEY_SKILL_ID or --skill-id, or pass --any-skill"),
        (("--any-skill", "--skill-id", "amzn1.ask.skill.x"), {}, "--any-skill contradicts"),
        (("--any-skill",), {"PARLEY_SKILL_ID": "amzn1.ask.skill.x"}, "--any-skill contradicts"),
    ],
)
def test_serve_refuses_to_start_without_exactly_one_skill_mode(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    process = _parley(*args, env=_env(**env))
    out, err = process.communicate(timeout=60)

    assert process.returncode == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {message}")


def _start_lines(process: subprocess.Popen[str]) -> list[str]:
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("serving the skill at"):
            break
    return lines


def test_serve_says_which_skill_and_which_transport(tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    skill_id = "amzn1.ask.skill.11111111-1111-1111-1111-111111111111"
    runs = {
        "any skill, plain HTTP": _parley("--any-skill", "--emulator", env=_env()),
        "one skill, TLS": _parley(
            "--certfile", str(certfile), "--keyfile", str(keyfile), "--emulator",
            env=_env(PARLEY_SKILL_ID=skill_id),
        ),
    }  # fmt: skip
    try:
        seen = {name: _start_lines(process) for name, process in runs.items()}
    finally:
        for process in runs.values():
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)

    plain, tls = seen["any skill, plain HTTP"], seen["one skill, TLS"]
    assert plain[0].startswith("skill id: ANY (--any-skill)")
    assert plain[1].startswith("transport: plain HTTP, no TLS")
    assert "32 connections" in plain[2] and "5 s" in plain[2] and "256 KiB" in plain[2]
    assert plain[-1].startswith("serving the skill at http://127.0.0.1:")
    assert tls[0] == f"skill id: {skill_id} (requests for any other skill get 403)"
    assert tls[1] == f"transport: HTTPS (TLS certificate {certfile})"
    assert tls[-1].startswith("serving the skill at https://127.0.0.1:")
    assert all(process.returncode == 0 for process in runs.values())


def test_a_slow_download_makes_others_wait_a_bounded_time(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    from skill import verify

    monkeypatch.setattr(verify, "_FETCH_WAIT_S", 0.2)
    release = threading.Event()

    def slow_fetch(url: str) -> bytes:
        release.wait(5)
        return chain.pem()

    check = RequestVerifier(trusted_roots=[chain.root], fetcher=slow_fetch)
    first = threading.Thread(target=check.chain, args=(CERT_URL,))
    first.start()
    assert wait_until(lambda: check.downloads == 1)

    started = time.monotonic()
    with pytest.raises(verify.VerificationError, match="download busy"):
        check.chain("https://s3.amazonaws.com/echo.api/other.pem")
    waited = time.monotonic() - started
    release.set()
    first.join(5)

    assert waited < 1
    assert check.chain(CERT_URL)  # cached by the first download
    assert check.downloads == 1


def test_a_tls_handshake_dripped_byte_by_byte_ends_at_the_read_deadline(tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    # A genuine ClientHello, made in memory, to send one byte at a time.
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ssl.create_default_context(cafile=str(certfile)).wrap_bio(
        incoming, outgoing, server_hostname=HOST
    )
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    hello = outgoing.read()
    assert len(hello) > 100

    with SkillServer(
        skill_for(ReplayModel()),
        verifier=None,
        host=HOST,
        port=0,
        certfile=str(certfile),
        keyfile=str(keyfile),
        read_timeout_s=0.5,
    ) as server:
        sock = connect(server)
        started = time.monotonic()
        sent = 0
        try:
            for byte in hello:  # 0.05 s apart: each byte well within a per-read timeout
                sock.send(bytes([byte]))
                sent += 1
                time.sleep(0.05)
        except OSError:
            pass  # closed by the server
        elapsed = time.monotonic() - started

    assert sent < len(hello), "the server waited for the whole drip"
    assert elapsed < 2.5
