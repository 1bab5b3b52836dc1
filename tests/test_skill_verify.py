"""Alexa HTTPS request verification, with a root/intermediate/leaf chain made here.

No private key is stored in the repository: every certificate is generated per test
module with `cryptography`.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pipeline.history import SqliteHistory
from pipeline.models.replay import ReplayModel
from pipeline.settings import Settings
from skill.handler import build_skill
from skill.server import SkillServer
from skill.verify import (
    RequestVerifier,
    VerificationError,
    check_cert_url,
    default_trusted_roots,
    load_ca_bundle,
    normalise_cert_url,
)
from tests.conftest import load_fixture

CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem"
NOW = datetime.now(UTC).replace(microsecond=0)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _cert(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: str,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool,
    path_length: int | None = 0,
    san: list[str] | None = None,
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = NOW + timedelta(days=30),
) -> x509.Certificate:
    usage = dict.fromkeys(
        ["content_commitment", "data_encipherment", "key_agreement", "encipher_only",
         "decipher_only"], False,
    )  # fmt: skip
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=not ca,
                key_cert_sign=ca,
                crl_sign=ca,
                **usage,
            ),
            critical=True,
        )
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if san is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@dataclass
class Chain:
    root: x509.Certificate
    intermediate: x509.Certificate
    intermediate_key: rsa.RSAPrivateKey
    leaf_key: rsa.RSAPrivateKey
    other_key: rsa.RSAPrivateKey

    def leaf(self, **options: Any) -> x509.Certificate:
        options.setdefault("san", ["echo-api.amazon.com"])
        return _cert(
            "echo-api.amazon.com",
            self.leaf_key,
            "Test Intermediate",
            self.intermediate_key,
            ca=False,
            **options,
        )

    def pem(self, **leaf_options: Any) -> bytes:
        return _pem(self.leaf(**leaf_options), self.intermediate)


def make_chain() -> Chain:
    """A root, an intermediate and keys for leaves, made with `cryptography`."""
    root_key, intermediate_key, leaf_key, other_key = _key(), _key(), _key(), _key()
    root = _cert(
        "Test Root", root_key, "Test Root", root_key, ca=True, path_length=None,
        not_before=NOW - timedelta(days=10), not_after=NOW + timedelta(days=3650),
    )  # fmt: skip
    intermediate = _cert("Test Intermediate", intermediate_key, "Test Root", root_key, ca=True)
    return Chain(root, intermediate, intermediate_key, leaf_key, other_key)


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_chain()


def body(timestamp: datetime = NOW) -> bytes:
    event = load_fixture("alexa/intent-chat.json")
    event["request"]["timestamp"] = timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(event).encode()


def sign(data: bytes, key: rsa.RSAPrivateKey) -> str:
    return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()


def headers(data: bytes, key: rsa.RSAPrivateKey, url: str = CERT_URL) -> dict[str, str]:
    return {"SignatureCertChainUrl": url, "Signature-256": sign(data, key)}


class Fetcher:
    def __init__(self, pem: bytes) -> None:
        self.pem = pem
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.pem


def verifier(chain: Chain, pem: bytes | None = None, **options: Any) -> RequestVerifier:
    options.setdefault("fetcher", Fetcher(pem if pem is not None else chain.pem()))
    options.setdefault("clock", lambda: NOW)
    return RequestVerifier(trusted_roots=[chain.root], **options)


def reason_of(check: Any) -> str:
    with pytest.raises(VerificationError) as caught:
        check()
    return caught.value.reason


def test_a_genuine_request_passes_and_the_chain_is_fetched_once(chain: Chain) -> None:
    fetcher = Fetcher(chain.pem())
    check = verifier(chain, fetcher=fetcher)
    data = body()

    check.verify(headers(data, chain.leaf_key), data)
    check.verify({k.lower(): v for k, v in headers(data, chain.leaf_key).items()}, data)

    assert fetcher.urls == [CERT_URL]


def test_signature_by_another_key_fails(chain: Chain) -> None:
    data = body()

    reason = reason_of(lambda: verifier(chain).verify(headers(data, chain.other_key), data))

    assert reason == "signature does not match the body"


def test_tampered_body_fails(chain: Chain) -> None:
    data = body()
    sent = headers(data, chain.leaf_key)

    reason = reason_of(lambda: verifier(chain).verify(sent, data.replace(b"coffee", b"candy")))

    assert reason == "signature does not match the body"


def test_signature_that_is_not_base64_fails(chain: Chain) -> None:
    sent = {"SignatureCertChainUrl": CERT_URL, "Signature-256": "not base64!"}

    assert reason_of(lambda: verifier(chain).verify(sent, body())) == "signature is not base64"


@pytest.mark.parametrize("missing", ["SignatureCertChainUrl", "Signature-256"])
def test_missing_headers_fail(chain: Chain, missing: str) -> None:
    data = body()
    sent = headers(data, chain.leaf_key)
    del sent[missing]

    assert missing in reason_of(lambda: verifier(chain).verify(sent, data))


@pytest.mark.parametrize(
    "url",
    [
        "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
        "https://S3.AMAZONAWS.COM/echo.api/echo-api-cert.pem",
        "HTTPS://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
    ],
)
def test_valid_cert_urls(url: str) -> None:
    check_cert_url(url)
    assert normalise_cert_url(url) == "https://s3.amazonaws.com/echo.api/echo-api-cert.pem"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://s3.amazonaws.com/echo.api/echo-api-cert.pem", "not https"),
        ("https://notamazon.com/echo.api/echo-api-cert.pem", "host"),
        ("https://s3.amazonaws.com.evil.example/echo.api/cert.pem", "host"),
        ("https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem", "path"),
        ("https://s3.amazonaws.com/invalid.path/echo-api-cert.pem", "path"),
        ("https://s3.amazonaws.com/echo.api/../invalid.path/echo-api-cert.pem", "path"),
        ("https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem", "port"),
        ("https://s3.amazonaws.com:notaport/echo.api/cert.pem", "malformed"),
        ("https://s3.amazonaws.com/echo.api/echo-api-cert.pem?x=1", "a query"),
        ("https://s3.amazonaws.com/echo.api/echo-api-cert.pem?", "a query"),
        ("https://s3.amazonaws.com/echo.api/echo-api-cert.pem#f", "a fragment"),
        ("https://u:p@s3.amazonaws.com/echo.api/echo-api-cert.pem", "user info"),
        ("https://evil.example\\@s3.amazonaws.com/echo.api/cert.pem", "a backslash"),
        ("https://s3.amazonaws.com/echo.api\\..\\x.pem", "a backslash"),
        ("https://s3.amazonaws.com/echo.api/%2e%2e/x.pem", "a percent-escape"),
        ("https://s3.amazonaws.com./echo.api/echo-api-cert.pem", "host"),
        ("https://s3.amazonaws.com/echo.api/ x.pem", "space"),
        ("https://s3.amazonaws.com//echo.api/x.pem", "path"),
    ],
)
def test_invalid_cert_urls_fail_before_any_fetch(chain: Chain, url: str, reason: str) -> None:
    fetcher = Fetcher(chain.pem())
    data = body()

    got = reason_of(
        lambda: verifier(chain, fetcher=fetcher).verify(headers(data, chain.leaf_key, url), data)
    )

    assert reason in got
    assert fetcher.urls == []


def test_expired_certificate_fails(chain: Chain) -> None:
    pem = chain.pem(not_before=NOW - timedelta(days=60), not_after=NOW - timedelta(days=1))
    data = body()

    reason = reason_of(lambda: verifier(chain, pem).verify(headers(data, chain.leaf_key), data))

    assert reason == "a certificate in the chain has expired"


def test_certificate_not_yet_valid_fails(chain: Chain) -> None:
    pem = chain.pem(not_before=NOW + timedelta(days=1), not_after=NOW + timedelta(days=30))
    data = body()

    reason = reason_of(lambda: verifier(chain, pem).verify(headers(data, chain.leaf_key), data))

    assert reason == "a certificate in the chain is not valid yet"


def test_missing_san_fails(chain: Chain) -> None:
    pem = chain.pem(san=None)
    data = body()

    reason = reason_of(lambda: verifier(chain, pem).verify(headers(data, chain.leaf_key), data))

    assert reason == "certificate has no subject alternative names"


def test_san_for_another_host_fails(chain: Chain) -> None:
    pem = chain.pem(san=["echo-api.amazon.com.evil.example"])
    data = body()

    reason = reason_of(lambda: verifier(chain, pem).verify(headers(data, chain.leaf_key), data))

    assert reason == "certificate is not issued for echo-api.amazon.com"


def test_chain_not_leading_to_a_trusted_root_fails(chain: Chain) -> None:
    # A look-alike intermediate with the same name, signed by an untrusted key.
    rogue = _cert(
        "Test Intermediate", chain.intermediate_key, "Test Root", chain.other_key, ca=True
    )
    data = body()

    reason = reason_of(
        lambda: verifier(chain, _pem(chain.leaf(), rogue)).verify(
            headers(data, chain.leaf_key), data
        )
    )

    assert reason.startswith("certificate chain is not trusted")


def test_leaf_signed_by_the_wrong_issuer_fails(chain: Chain) -> None:
    forged = _cert(
        "echo-api.amazon.com", chain.leaf_key, "Test Intermediate", chain.other_key, ca=False,
        san=["echo-api.amazon.com"],
    )  # fmt: skip
    data = body()

    reason = reason_of(
        lambda: verifier(chain, _pem(forged, chain.intermediate)).verify(
            headers(data, chain.leaf_key), data
        )
    )

    assert reason.startswith("certificate chain is not trusted")


def test_garbage_chain_fails(chain: Chain) -> None:
    data = body()

    reason = reason_of(
        lambda: verifier(chain, b"not a pem").verify(headers(data, chain.leaf_key), data)
    )

    assert reason == "certificate chain is not PEM certificates"


@pytest.mark.parametrize(("age_s", "ok"), [(100, True), (-100, True), (151, False), (3600, False)])
def test_request_timestamp_must_be_within_150_seconds(chain: Chain, age_s: int, ok: bool) -> None:
    data = body(NOW - timedelta(seconds=age_s))
    check = verifier(chain)

    if ok:
        check.verify(headers(data, chain.leaf_key), data)
    else:
        assert "timestamp" in reason_of(lambda: check.verify(headers(data, chain.leaf_key), data))


def test_the_2016_sam_fixture_timestamp_is_refused(chain: Chain) -> None:
    data = json.dumps(load_fixture("alexa/intent-chat.json")).encode()

    assert "timestamp" in reason_of(
        lambda: verifier(chain).verify(headers(data, chain.leaf_key), data)
    )


def test_default_roots_come_from_a_ca_bundle() -> None:
    roots = default_trusted_roots()

    assert len(roots) > 20
    assert all(r.extensions.get_extension_for_class(x509.BasicConstraints).value.ca for r in roots)


def test_a_bad_certificate_in_a_bundle_is_skipped(chain: Chain) -> None:
    bundle = _pem(chain.root) + b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"

    assert load_ca_bundle(bundle) == [chain.root]


# ------------------------------------------------------------------ HTTPS endpoint


def post(url: str, data: bytes, sent: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=data, headers=sent, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def skill_for(model: ReplayModel, **settings: Any) -> Any:
    return build_skill(model=model, history=SqliteHistory(), settings=Settings(**settings))


@pytest.fixture
def verified_server(chain: Chain) -> Any:
    model = ReplayModel(default="Hello from Pip!")
    check = RequestVerifier(trusted_roots=[chain.root], fetcher=Fetcher(chain.pem()))
    with SkillServer(skill_for(model), verifier=check, host="127.0.0.1", port=0) as server:
        yield server, model


def test_server_answers_a_verified_request(verified_server: Any, chain: Chain) -> None:
    server, model = verified_server
    data = body(datetime.now(UTC))

    status, payload = post(
        server.url, data, {**headers(data, chain.leaf_key), "Content-Type": "application/json"}
    )

    assert status == 200
    assert payload["response"]["outputSpeech"]["ssml"] == "<speak>Hello from Pip!</speak>"
    assert len(model.history) == 1


def test_server_refuses_a_bad_signature_before_the_skill(
    verified_server: Any, chain: Chain
) -> None:
    server, model = verified_server
    data = body(datetime.now(UTC))

    status, payload = post(server.url, data, headers(data, chain.other_key))

    assert status == 400
    assert payload == {"error": "request verification failed"}
    assert model.history == []


def test_server_refuses_unsigned_requests(verified_server: Any) -> None:
    server, model = verified_server

    status, _ = post(server.url, body(datetime.now(UTC)), {"Content-Type": "application/json"})

    assert status == 400
    assert model.history == []


def test_server_refuses_another_skill_id_with_403(chain: Chain) -> None:
    model = ReplayModel(default="never")
    skill = skill_for(model, skill_id="amzn1.ask.skill.11111111-1111-1111-1111-111111111111")
    check = RequestVerifier(trusted_roots=[chain.root], fetcher=Fetcher(chain.pem()))
    data = body(datetime.now(UTC))

    with SkillServer(skill, verifier=check, host="127.0.0.1", port=0) as server:
        status, _ = post(server.url, data, headers(data, chain.leaf_key))

    assert status == 403
    assert model.history == []


def test_server_without_verification_accepts_unsigned_requests() -> None:
    model = ReplayModel(default="Local test answer.")

    with SkillServer(skill_for(model), verifier=None, host="127.0.0.1", port=0) as server:
        status, payload = post(server.url, body(), {})
        bad_status, _ = post(server.url, b"{not json", {})

    assert status == 200
    assert "Local test answer." in payload["response"]["outputSpeech"]["ssml"]
    assert bad_status == 400
