"""Verify that an HTTPS request really comes from Alexa, as Alexa requires of web services.

Checks, cheapest first, so that a forged request costs no download: both headers
present; the `SignatureCertChainUrl` normalised (https, host s3.amazonaws.com, port
443 if given, dot segments resolved, path under /echo.api/; user info, query,
fragment, percent-escapes and backslashes refused); the `Signature-256` header is
base64 of an RSA-sized signature; the request timestamp is a string within 150
seconds of now. Only then the certificate chain is fetched from the normalised URL
(cached by it, one download at a time), checked valid now, issued for
`echo-api.amazon.com` and chaining to a trusted root (path validation by
`cryptography.x509.verification`), and the signature checked: RSA-SHA256 (PKCS#1
v1.5) over the raw body with the leaf's key.

ask-sdk-webservice-support would do this, but fails at import on OpenSSL 3 (see
API-NOTES), hence this module. Trusted roots are certifi's bundle; tests pass their
own root.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import DNSName, PolicyBuilder, Store
from cryptography.x509.verification import VerificationError as ChainError

from pipeline.conversation import parse_timestamp
from pipeline.errors import ConfigError, InputError, ParleyError

ALEXA_CERT_HOST = "s3.amazonaws.com"
ALEXA_CERT_PATH = "/echo.api/"
ALEXA_SAN = "echo-api.amazon.com"
MAX_SKEW_S = 150
CERT_HEADER = "SignatureCertChainUrl"
SIGNATURE_HEADER = "Signature-256"
_CACHE_SIZE = 16
_RSA_SIGNATURE_BYTES = (256, 384, 512)  # RSA 2048, 3072 and 4096-bit keys
_MAX_CHAIN_BYTES = 64 * 1024
_FETCH_WAIT_S = 5.0

# Alexa's URL has none of these; each would make a new cache key for the same file.
_REFUSED_IN_URL = (
    ("\\", "a backslash"),
    ("@", "user info"),
    ("?", "a query"),
    ("#", "a fragment"),
    ("%", "a percent-escape"),
)
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)

Fetcher = Callable[[str], bytes]


class VerificationError(ParleyError):
    """The request is not a verified Alexa request; `reason` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"request verification failed: {reason}")
        self.reason = reason


def normalise_cert_url(url: str) -> str:
    """The one form of a `SignatureCertChainUrl` that is fetched and cached, if it obeys
    Alexa's rules; raise VerificationError (before any download) if it does not.

    Scheme and host are lowercased, port 443 dropped, dot segments resolved. Alexa's
    URL has no user info, query, fragment, percent-escape or backslash, so a URL with
    any of them is refused rather than cleaned: each variant would otherwise be a new
    cache key, and so a new download, for an unsigned request.
    """
    for mark, what in _REFUSED_IN_URL:
        if mark in url:
            raise VerificationError(f"certificate URL has {what}")
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url):
        raise VerificationError("certificate URL has a space, control or non-ASCII character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise VerificationError("certificate URL is malformed") from None
    if parts.scheme.lower() != "https":
        raise VerificationError("certificate URL is not https")
    if parts.hostname != ALEXA_CERT_HOST:  # urlsplit lowercases it
        raise VerificationError(f"certificate URL host is not {ALEXA_CERT_HOST}")
    if port is not None and port != 443:
        raise VerificationError("certificate URL port is not 443")
    path = posixpath.normpath(parts.path) if parts.path else ""
    if not path.startswith(ALEXA_CERT_PATH):
        raise VerificationError(f"certificate URL path is not under {ALEXA_CERT_PATH}")
    return f"https://{ALEXA_CERT_HOST}{path}"


def check_cert_url(url: str) -> None:
    """Alexa's rules for `SignatureCertChainUrl`; raise VerificationError if broken."""
    normalise_cert_url(url)


def fetch_url(url: str) -> bytes:
    """Download a certificate chain (only called for URLs that passed `check_cert_url`)."""
    from urllib.request import urlopen

    with urlopen(url, timeout=5) as response:  # https to the checked Alexa host only
        data: bytes = response.read(_MAX_CHAIN_BYTES + 1)
    return data


def default_trusted_roots() -> list[x509.Certificate]:
    """The roots of certifi's CA bundle (Mozilla's list, a declared dependency)."""
    import certifi

    return load_ca_bundle(Path(certifi.where()).read_bytes())


def load_ca_bundle(data: bytes) -> list[x509.Certificate]:
    """Certificates of a PEM bundle, one by one: a CA that fails to parse is skipped."""
    roots = []
    with warnings.catch_warnings():
        # A few long-lived CAs have non-positive serials; they still verify chains.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for block in _PEM_BLOCK.findall(data):
            try:
                roots.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    if not roots:
        raise ConfigError("the CA bundle holds no usable certificate")
    return roots


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _request_time(body: bytes) -> datetime:
    try:
        stamp = json.loads(body)["request"]["timestamp"]
    except (ValueError, KeyError, TypeError, IndexError):
        raise VerificationError("request has no readable timestamp") from None
    if not isinstance(stamp, str):  # a number, null, a list: not Alexa's ISO-8601 string
        raise VerificationError("request timestamp is not a string")
    try:
        return parse_timestamp(stamp)
    except InputError:
        raise VerificationError("request has no readable timestamp") from None


def _signature_bytes(signature_b64: str) -> bytes:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError("signature is not base64") from None
    if len(signature) not in _RSA_SIGNATURE_BYTES:
        raise VerificationError("signature has the wrong length for an RSA key")
    return signature


class RequestVerifier:
    """Verifies Alexa requests; keep one per process (it caches certificate chains)."""

    def __init__(
        self,
        *,
        trusted_roots: Sequence[x509.Certificate] | None = None,
        fetcher: Fetcher = fetch_url,
        max_skew_s: float = MAX_SKEW_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._roots = list(trusted_roots) if trusted_roots is not None else None
        self._store: Store | None = None
        self.fetcher = fetcher
        self.max_skew_s = max_skew_s
        self.clock = clock
        self._cache: OrderedDict[str, list[x509.Certificate]] = OrderedDict()
        self._lock = threading.Lock()
        self._fetch_lock = threading.Lock()
        self.downloads = 0

    @property
    def store(self) -> Store:
        if self._store is None:
            roots = self._roots if self._roots is not None else default_trusted_roots()
            self._store = Store(roots)
        return self._store

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise VerificationError unless the request passes every check.

        The checks that cost nothing come first (headers, URL, signature shape,
        timestamp), so an unsigned or stale request never makes the server download.
        """
        url = _header(headers, CERT_HEADER)
        signature = _header(headers, SIGNATURE_HEADER)
        if not url:
            raise VerificationError(f"missing {CERT_HEADER} header")
        if not signature:
            raise VerificationError(f"missing {SIGNATURE_HEADER} header")
        url = normalise_cert_url(url)
        signature_bytes = _signature_bytes(signature)
        now = self.clock()
        skew = abs((now - _request_time(body)).total_seconds())
        if skew > self.max_skew_s:
            raise VerificationError(f"request timestamp is {skew:.0f} s from now")
        leaf = self.check_chain(self.chain(url), now)
        self.check_signature(leaf, signature_bytes, body)

    def chain(self, url: str) -> list[x509.Certificate]:
        """The certificate chain at `url` (normalised), leaf first: fetched once, then
        cached. One download at a time, so forged requests cannot fan them out."""
        with self._lock:
            if url in self._cache:
                self._cache.move_to_end(url)
                return self._cache[url]
        # Wait a bounded time for another download: a queue of them must not hold threads.
        if not self._fetch_lock.acquire(timeout=_FETCH_WAIT_S):
            raise VerificationError("certificate download busy")
        try:
            with self._lock:  # fetched by another thread while this one waited
                if url in self._cache:
                    return self._cache[url]
            certificates = self._download(url)
            with self._lock:
                self._cache[url] = certificates
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        finally:
            self._fetch_lock.release()
        return certificates

    def _download(self, url: str) -> list[x509.Certificate]:
        self.downloads += 1
        try:
            data = self.fetcher(url)
        except Exception as exc:
            raise VerificationError(
                f"cannot fetch certificate chain ({type(exc).__name__})"
            ) from None
        if len(data) > _MAX_CHAIN_BYTES:
            raise VerificationError("certificate chain is too large")
        try:
            return x509.load_pem_x509_certificates(data)
        except ValueError:
            raise VerificationError("certificate chain is not PEM certificates") from None

    def check_chain(self, chain: Sequence[x509.Certificate], now: datetime) -> x509.Certificate:
        """The leaf, if the chain is valid now, for echo-api.amazon.com, to a trusted root."""
        if not chain:
            raise VerificationError("certificate chain is empty")
        for cert in chain:
            if now < cert.not_valid_before_utc:
                raise VerificationError("a certificate in the chain is not valid yet")
            if now > cert.not_valid_after_utc:
                raise VerificationError("a certificate in the chain has expired")
        leaf = chain[0]
        try:
            san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            raise VerificationError("certificate has no subject alternative names") from None
        if ALEXA_SAN not in san.get_values_for_type(x509.DNSName):
            raise VerificationError(f"certificate is not issued for {ALEXA_SAN}")
        verifier = (
            PolicyBuilder().store(self.store).time(now).build_server_verifier(DNSName(ALEXA_SAN))
        )
        try:
            verifier.verify(leaf, list(chain[1:]))
        except ChainError as exc:
            raise VerificationError(f"certificate chain is not trusted ({exc})") from None
        return leaf

    @staticmethod
    def check_signature(leaf: x509.Certificate, signature: str | bytes, body: bytes) -> None:
        """`Signature-256`: RSA-SHA256 with PKCS#1 v1.5 padding over the raw body."""
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise VerificationError("certificate key is not RSA")
        if isinstance(signature, str):
            signature = _signature_bytes(signature)
        try:
            key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise VerificationError("signature does not match the body") from None
