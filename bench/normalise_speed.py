"""Cost of text normalisation (pipeline/normalise/) in the baseline's feature extraction.

Normalisation runs on every message a matcher reads. Measured side by side in one run:
the baseline's feature extraction (`hashed_groups`, warm word caches) as shipped,
against the same extraction with the previous step (NFKC only) in its place, on four
10-message conversations: plain ASCII, accented Latin (es/fr/de), obfuscated
(zero-width characters and Cyrillic look-alikes) and broken (the evasion suite's
spacing and leetspeak: "dep.osit", "p4y"). Target: the ratio stays at most 1.5 for
ASCII and accented text, the traffic parley sees (1.2 before accents, fancy letters
and look-alike words were folded too). Context: normalising one message in
microseconds, of which the check for broken and leetspeak words (`rejoin`, which ASCII
text goes through too), and the one-time load of the confusables table.
"""

from __future__ import annotations

import statistics
import time
import unicodedata
from collections.abc import Callable
from unittest import mock

from pipeline.baseline import features
from pipeline.baseline.artifact import load_artifact
from pipeline.normalise import lookalike_table, normalise, rejoin

from .baseline_speed import TEXTS

ACCENTED = (
    "Hola, ¿sigue disponible la bicicleta? La vi esta mañana.",
    "Sí, está como nueva, frenos cambiados el mes pasado.",
    "Perfecto. ¿Aceptarías 250 €? Puedo pagar por la plataforma.",
    "Je peux faire 280 €, c'est un très bon prix pour ce modèle.",
    "D'accord, 280 € ça marche. Quand puis-je passer la voir ?",
    "Samstag früh geht, ich wohne in der Nähe vom Bahnhof.",
    "Können Sie mir vorher noch ein paar Fotos schicken?",
    "Claro, te las mando esta noche. Paga una señal de 50 € por Bizum.",
    "¿Por qué no por la plataforma? Prefiero la protección al comprador.",
    "Hay otras personas interesadas, paga en 10 minutos o la vendo.",
)
OBFUSCATED = tuple(
    text.replace("deposit", "d\u200be\u200bp\u200bosit").replace("pay", "p\u0430y")
    for text in TEXTS
)
BROKEN = tuple(
    text.replace("deposit", "dep.osit").replace("pay", "p4y").replace("Zelle", "Zel le")
    for text in TEXTS
)


def _median_ms(func: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _paired_ms(func: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median ms of func as shipped and with NFKC only, timed alternately (same load)."""
    shipped, nfkc = [], []
    for _ in range(repeats):
        shipped.append(_median_ms(func, 1))
        with mock.patch.object(features, "normalised_text", _nfkc_only):
            nfkc.append(_median_ms(func, 1))
    return statistics.median(shipped), statistics.median(nfkc)


def _nfkc_only(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    repeats = 50 if quick else 400
    config = load_artifact().features
    started = time.perf_counter()
    lookalike_table.cache_clear()
    lookalike_table()
    load_ms = (time.perf_counter() - started) * 1000
    rows = []
    sets = (
        ("ascii", TEXTS),
        ("accented", ACCENTED),
        ("obfuscated", OBFUSCATED),
        ("broken", BROKEN),
    )
    for name, texts in sets:
        turns = [("buyer" if i % 2 == 0 else "seller", t) for i, t in enumerate(texts)]

        def extract(turns: list[tuple[str, str]] = turns) -> object:
            return features.hashed_groups(turns, config)

        extract()  # warm the word caches
        normalised, raw = _paired_ms(extract, repeats)

        def normalise_all(texts: tuple[str, ...] = texts) -> object:
            return [normalise(t) for t in texts]

        def rejoin_all(texts: tuple[str, ...] = texts) -> object:
            return [rejoin(t) for t in texts]

        per_message_us = _median_ms(normalise_all, repeats) * 100  # ms for 10 -> µs each
        rejoin_us = _median_ms(rejoin_all, repeats) * 100
        rows.append(
            (
                f"{name}_ratio",
                normalised / raw,
                f"features of 10 messages: {normalised:.3f} ms normalised vs {raw:.3f} ms"
                f" NFKC only; normalise() {per_message_us:.1f} µs a message,"
                f" of which rejoin() {rejoin_us:.1f} µs",
            )
        )
    rows.append(("table_load_ms", load_ms, "confusables table, once per process, on first need"))
    return rows
