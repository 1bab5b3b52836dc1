"""`parley emulator`: a local Bedrock Runtime endpoint with injected latency, quotas and faults."""

from __future__ import annotations

from typing import Any

import click

from ..emulator import DEFAULT_CLI_PORT, BedrockEmulator, FaultConfig, run_forever
from ..errors import ParleyError

_rate = click.FloatRange(0.0, 1.0)


def _baseline_responder() -> Any:
    """The local classifier as the emulator's model, or None when this build lacks it."""
    try:
        from ..models.local import baseline_responder

        return baseline_responder()
    except (ImportError, AttributeError, ParleyError) as exc:
        click.echo(
            f"baseline responder unavailable ({type(exc).__name__}); using default", err=True
        )
        return None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=DEFAULT_CLI_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option("--latency-ms", default=0.0, type=click.FloatRange(min=0), help="added per answer")
@click.option("--jitter-ms", default=0.0, type=click.FloatRange(min=0), help="± random latency")
@click.option("--rpm", type=click.IntRange(min=1), help="requests per minute per model")
@click.option("--tpm", type=click.IntRange(min=1), help="tokens per minute per model")
@click.option("--throttle-rate", default=0.0, type=_rate, help="share answered 429 Throttling")
@click.option("--error-rate", default=0.0, type=_rate, help="share answered 500/503")
@click.option("--timeout-rate", default=0.0, type=_rate, help="share answered 408 ModelTimeout")
@click.option("--malformed-rate", default=0.0, type=_rate, help="share answered with broken text")
@click.option("--seed", type=int, help="seed of the fault draws (reproducible runs)")
@click.option(
    "--responder",
    type=click.Choice(["default", "baseline"]),
    default="default",
    show_default=True,
    help="default: a fixed answer ('0', or the verdict tool's default input); "
    "baseline: the local classifier's judgement",
)
def emulator(
    host: str,
    port: int,
    latency_ms: float,
    jitter_ms: float,
    rpm: int | None,
    tpm: int | None,
    throttle_rate: float,
    error_rate: float,
    timeout_rate: float,
    malformed_rate: float,
    seed: int | None,
    responder: str,
) -> None:
    """Serve the Bedrock Converse/InvokeModel API on HOST:PORT until Ctrl-C.

    Point parley (or any boto3 / LangChain client) at it with
    PARLEY_BEDROCK_ENDPOINT_URL; any credentials are accepted.
    """
    try:
        faults = FaultConfig(
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            rpm=rpm,
            tpm=tpm,
            throttle_rate=throttle_rate,
            error_5xx_rate=error_rate,
            timeout_rate=timeout_rate,
            malformed_rate=malformed_rate,
            seed=seed,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    answer = _baseline_responder() if responder == "baseline" else None
    server = BedrockEmulator(answer, faults, host=host, port=port)
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    url = server.endpoint_url
    click.echo(f"responder: {'baseline' if answer else 'default'}")
    click.echo("Point parley at it (any credentials work):")
    click.echo(f"  export PARLEY_BEDROCK_ENDPOINT_URL={url}")
    click.echo("  export PARLEY_MODEL=bedrock:amazon.nova-micro-v1:0")
    click.echo("  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing")
    click.echo("Ctrl-C stops it and prints the request counts.")
    run_forever(server, echo=click.echo)
