"""`parley skill simulate|chat|serve|package`: the Alexa skill on one machine.

`simulate` and `chat` drive the real `handle_event` (what `lambda_handler` runs) with
Alexa request envelopes across one session (Launch → Intent… → SessionEnded),
echoing session attributes back as Alexa does, and print what Alexa would say.
Typed sentences are matched to intents like Alexa's NLU would, from the skill's own
interaction model: a ChatIntent carrier phrase ("can I have …") is not part of the
slot value the model sees.

With no `--model`, the model is an in-process Bedrock emulator answering from a
small table of canned companion answers: it is not an LLM, and the output says so.
`--model bedrock:<id>` asks Amazon Bedrock.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import InputError
from .common import echo_json, history_option, json_option, settings_with

if TYPE_CHECKING:
    from ask_sdk_core.skill import CustomSkill

    from ..assistant import BedrockGuardrail
    from ..models import ChatModel
    from ..settings import Settings

SKILL_PACKAGE = Path(__file__).resolve().parents[2] / "skill" / "skill-package"
INTERACTION_MODEL = SKILL_PACKAGE / "interactionModels" / "custom" / "en-US.json"
LOCALES = ("en-US", "fr-FR")  # those with an interaction model in the skill package
PLACEHOLDER_SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
ENDPOINT_PLACEHOLDER = "${SKILL_ENDPOINT_ARN}"
EMULATED_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
EMULATED_GUARDRAIL = "childsafety"
# skill.server's defaults (a test keeps them equal): importing it here loads the ASK SDK.
MAX_CONNECTIONS = 32
READ_TIMEOUT_S = 5.0
_LAMBDA_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$"
)

# ------------------------------------------------------- simulated NLU


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w' ]+", " ", text.lower())).strip()


# Phrases Alexa's built-in intents understand without samples (a small subset).
BUILT_IN_PHRASES: dict[str, tuple[str, ...]] = {
    "AMAZON.HelpIntent": (
        "help",
        "help me",
        "what can you do",
        "what can i say",
        "aide",
        "aide-moi",
    ),
    "AMAZON.CancelIntent": ("cancel", "never mind", "forget it", "annule", "laisse tomber"),
    "AMAZON.StopIntent": (
        "stop",
        "bye",
        "goodbye",
        "bye bye",
        "quit",
        "exit",
        "off",
        "au revoir",
        "arrête",
        "salut",
    ),
    "AMAZON.YesIntent": (
        "yes",
        "yeah",
        "yep",
        "sure",
        "ok",
        "okay",
        "yes please",
        "oui",
        "ouais",
        "d'accord",
    ),
    "AMAZON.NoIntent": ("no", "nope", "no thanks", "no thank you", "non", "non merci"),
    "AMAZON.NavigateHomeIntent": (
        "go home",
        "home",
        "start over",
        "main menu",
        "accueil",
        "recommence",
    ),
}


def interaction_model(locale: str) -> Path:
    """The skill package's interaction model of `locale` (InputError if it has none)."""
    if locale not in LOCALES:
        raise InputError(f"no interaction model for {locale!r}; known: {', '.join(LOCALES)}")
    return SKILL_PACKAGE / "interactionModels" / "custom" / f"{locale}.json"


@dataclass(frozen=True)
class NluModel:
    """Intent matching from the interaction model: exact built-in phrases, then
    ChatIntent carrier phrases (the longest carrier wins), else FallbackIntent."""

    phrases: dict[str, str]
    carriers: tuple[tuple[re.Pattern[str], int, str], ...]

    @classmethod
    def load(cls, path: Path = INTERACTION_MODEL) -> NluModel:
        """The model of `path` (`interaction_model(locale)` finds a locale's)."""
        from skill import intents

        language = json.loads(path.read_text(encoding="utf-8"))["interactionModel"]
        phrases = {p: name for name, ps in BUILT_IN_PHRASES.items() for p in ps}
        carriers = []
        slot = "{" + intents.UTTERANCE_SLOT + "}"
        for intent in language["languageModel"]["intents"]:
            for sample in intent.get("samples", []):
                if slot in sample:
                    before, _, after = _normalise(sample.replace(slot, " SLOTX ")).partition(
                        "slotx"
                    )
                    pattern = re.compile(
                        rf"^{re.escape(before)}(?P<slot>.+?){re.escape(after)}$"
                        if after.strip()
                        else rf"^{re.escape(before)}(?P<slot>.+)$"
                    )
                    carriers.append((pattern, len(before + after), intent["name"]))
                else:
                    phrases[_normalise(sample)] = intent["name"]
        carriers.sort(key=lambda c: -c[1])
        return cls(phrases, tuple(carriers))

    def match(self, text: str) -> tuple[str, dict[str, str]]:
        """(intent name, slot values) for a sentence."""
        from skill import intents

        said = _normalise(text)
        if said in self.phrases:
            return self.phrases[said], {}
        for pattern, _, name in self.carriers:
            found = pattern.match(said)
            if found and found.group("slot").strip():
                return name, {intents.UTTERANCE_SLOT: found.group("slot").strip()}
        return intents.FALLBACK, {}


# ------------------------------------------------------------------ envelopes


@dataclass
class SimulatedSession:
    """Alexa's side of one session: builds request envelopes and keeps attributes."""

    application_id: str = PLACEHOLDER_SKILL_ID
    session_id: str = field(default_factory=lambda: f"amzn1.echo-api.session.{uuid.uuid4()}")
    user_id: str = "amzn1.ask.account.SIMULATED-USER"
    attributes: dict[str, Any] = field(default_factory=dict)
    new: bool = True
    ended: bool = False
    locale: str = "en-US"

    def _envelope(self, request: dict[str, Any]) -> dict[str, Any]:
        application = {"applicationId": self.application_id}
        user = {"userId": self.user_id}
        envelope = {
            "version": "1.0",
            "session": {
                "new": self.new,
                "sessionId": self.session_id,
                "application": application,
                "attributes": dict(self.attributes),
                "user": user,
            },
            "context": {
                "System": {
                    "application": application,
                    "user": user,
                    "device": {"deviceId": "simulated-device", "supportedInterfaces": {}},
                    "apiEndpoint": "https://api.amazonalexa.com",
                }
            },
            "request": {
                "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
                "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "locale": self.locale,
                **request,
            },
        }
        self.new = False
        return envelope

    def launch(self) -> dict[str, Any]:
        return self._envelope({"type": "LaunchRequest"})

    def intent(self, name: str, slots: dict[str, str] | None = None) -> dict[str, Any]:
        slot_objects = {
            k: {"name": k, "value": v, "confirmationStatus": "NONE"}
            for k, v in (slots or {}).items()
        }
        intent = {"name": name, "confirmationStatus": "NONE", "slots": slot_objects}
        return self._envelope({"type": "IntentRequest", "intent": intent})

    def end(self, reason: str = "USER_INITIATED") -> dict[str, Any]:
        return self._envelope({"type": "SessionEndedRequest", "reason": reason})

    def absorb(self, response: dict[str, Any]) -> None:
        """Carry session attributes to the next request; note when the skill ended it."""
        self.attributes = dict(response.get("sessionAttributes") or {})
        if response.get("response", {}).get("shouldEndSession"):
            self.ended = True


def spoken(ssml: str | None) -> str:
    """What a listener hears: `<speak>` removed and entities decoded."""
    if not ssml:
        return ""
    return html.unescape(re.sub(r"</?speak>", "", ssml)).strip()


# -------------------------------------------------------------------- running


@contextmanager
def companion_model(
    model_ref: str | None, settings: Settings
) -> Iterator[tuple[ChatModel, str, BedrockGuardrail | None]]:
    """The model to talk to, an honest label and a guardrail: `--model` (the guardrail
    from the settings), else the canned emulator, which also enforces the shipped
    guardrail policy offline."""
    from ..models import resolve

    if model_ref:
        options: dict[str, Any] = {}
        if model_ref.startswith("bedrock:"):
            options = {"region": settings.region, "endpoint_url": settings.bedrock_endpoint_url}
        yield resolve(model_ref, **options), model_ref, None
        return
    from ..assistant import BedrockGuardrail
    from ..emulator import BedrockEmulator
    from ..emulator.companion import CANNED_LABEL, canned_companion
    from ..guardrail_policy import load_policy

    policies = {EMULATED_GUARDRAIL: load_policy()}
    with BedrockEmulator(responder=canned_companion, guardrails=policies) as emulator:
        client = emulator.client(retries={"mode": "standard", "total_max_attempts": 1})
        label = (
            f"{CANNED_LABEL}, served as bedrock:{EMULATED_MODEL} by a local emulator; "
            "guardrail: the shipped policy, enforced offline"
        )
        guardrail = BedrockGuardrail(emulator.client(), EMULATED_GUARDRAIL, "1")
        yield resolve(f"bedrock:{EMULATED_MODEL}", client=client), label, guardrail


@dataclass
class Step:
    """One request sent and what came back."""

    heard: str
    request: dict[str, Any]
    response: dict[str, Any]
    handler_ms: float

    def as_dict(self) -> dict[str, Any]:
        body = self.response.get("response", {})
        card = body.get("card") or {}
        return {
            "heard": self.heard,
            "speech": spoken(body.get("outputSpeech", {}).get("ssml")),
            "reprompt": spoken(body.get("reprompt", {}).get("outputSpeech", {}).get("ssml")),
            "card": card.get("content"),
            "end_session": bool(body.get("shouldEndSession")),
            "handler_ms": round(self.handler_ms, 1),
            "request": self.request,
            "response": self.response,
        }


class Simulator:
    """Sends envelopes of one session to the skill, as Alexa would."""

    def __init__(self, skill: CustomSkill, session: SimulatedSession, nlu: NluModel) -> None:
        self.skill = skill
        self.session = session
        self.nlu = nlu

    def send(self, heard: str, envelope: dict[str, Any]) -> Step:
        from skill.handler import handle_event

        started = time.perf_counter()
        response = handle_event(self.skill, envelope)
        step = Step(heard, envelope, response, (time.perf_counter() - started) * 1000)
        self.session.absorb(response)
        return step

    def launch(self) -> Step:
        return self.send("(opens the skill)", self.session.launch())

    def say(self, sentence: str) -> Step:
        name, slots = self.nlu.match(sentence)
        shown = f"{sentence}   [{name}" + "".join(f' {k}="{v}"' for k, v in slots.items()) + "]"
        return self.send(shown, self.session.intent(name, slots))

    def end(self) -> Step:
        return self.send("(session ends)", self.session.end())


def _print_step(step: Step) -> None:
    data = step.as_dict()
    click.echo(f"child: {data['heard']}")
    if data["speech"]:
        click.echo(f"Alexa: {data['speech']}")
    if data["reprompt"]:
        click.echo(f"       reprompt: {data['reprompt']}")
    if data["card"]:
        click.echo(f"       card: {data['card']}")
    ended = step.request["request"]["type"] == "SessionEndedRequest"
    tail = "session over" if ended else "session ends" if data["end_session"] else "session open"
    click.echo(f"       ({tail}; handler {data['handler_ms']:.0f} ms)\n")


def _skill_settings(history: str | None, session_store: str = "sqlite::memory:") -> Settings:
    # A child's words stay in memory unless --history names a store.
    return settings_with(history=history or session_store)  # type: ignore[no-any-return]


@contextmanager
def _simulator(
    model_ref: str | None,
    history: str | None,
    session_id: str | None,
    verbose: bool = False,
    locale: str = "en-US",
) -> Iterator[tuple[Simulator, str]]:
    from skill.handler import build_skill, logger

    logger.setLevel("INFO" if verbose else "WARNING")  # the JSON logs go to stderr

    settings = _skill_settings(history)
    with companion_model(model_ref, settings) as (model, label, guardrail):
        skill = build_skill(model=model, settings=settings, guardrail=guardrail)
        session = SimulatedSession(
            application_id=settings.skill_id or PLACEHOLDER_SKILL_ID, locale=locale
        )
        if session_id:
            session.session_id = session_id
        yield Simulator(skill, session, NluModel.load(interaction_model(locale))), label


_model_opt = click.option(
    "--model",
    "model_ref",
    default=None,
    metavar="REF",
    help="model reference, e.g. bedrock:<id>; default: an in-process emulator with canned "
    "companion answers (not an LLM)",
)


_locale_opt = click.option(
    "--locale",
    default="en-US",
    show_default=True,
    type=click.Choice(LOCALES),
    help="the Alexa locale of the session: its interaction model, lines and prompt",
)


_verbose_opt = click.option(
    "--verbose", "-v", is_flag=True, help="show the handler's JSON logs (ids and sizes only)"
)


@click.group()
def skill() -> None:
    """The Alexa skill: simulate a session, chat, serve it (HTTPS or HTTP behind a proxy),
    package for the ASK CLI."""


@skill.command()
@click.argument("sentences", nargs=-1, required=True)
@_model_opt
@history_option
@click.option("--session-id", default=None, help="Alexa session id (default: a new one)")
@json_option
@_verbose_opt
@_locale_opt
def simulate(
    sentences: tuple[str, ...],
    model_ref: str | None,
    history_location: str | None,
    session_id: str | None,
    as_json: bool,
    verbose: bool,
    locale: str,
) -> None:
    """Run one session: launch, one request per SENTENCE, then the end of the session.

    Example: parley skill simulate "can I have a cup of coffee" "and a biscuit too"
    """
    with _simulator(model_ref, history_location, session_id, verbose, locale) as (sim, label):
        steps = [sim.launch()]
        for sentence in sentences:
            if sim.session.ended:
                break
            steps.append(sim.say(sentence))
        if not sim.session.ended:
            steps.append(sim.end())
    if as_json:
        echo_json({"model": label, "steps": [s.as_dict() for s in steps]})
        return
    click.echo(f"model: {label}\nsession: {sim.session.session_id}\n")
    for step in steps:
        _print_step(step)


@skill.command()
@_model_opt
@history_option
@click.option("--session-id", default=None, help="Alexa session id (default: a new one)")
@_verbose_opt
@_locale_opt
def chat(
    model_ref: str | None,
    history_location: str | None,
    session_id: str | None,
    verbose: bool,
    locale: str,
) -> None:
    """Talk to the skill line by line (stdin) in one session; "stop" or end of input ends it."""
    interactive = sys.stdin.isatty()
    with _simulator(model_ref, history_location, session_id, verbose, locale) as (sim, label):
        click.echo(f"model: {label}\nsession: {sim.session.session_id}\n")
        _print_step(sim.launch())
        while not sim.session.ended:
            line = click.prompt("you", prompt_suffix="> ") if interactive else sys.stdin.readline()
            if not line:
                break
            if line.strip():
                _print_step(sim.say(line.strip()))
        if not sim.session.ended:
            _print_step(sim.end())


@skill.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--skill-id",
    default=None,
    metavar="ID",
    help="the Alexa skill id served; default: $PARLEY_SKILL_ID (one of the two, or --any-skill)",
)
@click.option(
    "--any-skill",
    is_flag=True,
    help="answer genuinely signed requests of ANY Alexa skill (no skill id): local tests only",
)
@click.option(
    "--no-verify", is_flag=True, help="accept unsigned requests: LOCAL TESTING ONLY, never online"
)
@click.option(
    "--certfile",
    "--cert",
    "certfile",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="PEM certificate (chain): serve HTTPS; without it the server speaks plain HTTP",
)
@click.option(
    "--keyfile",
    "--key",
    "keyfile",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="PEM private key of --certfile",
)
@click.option(
    "--max-connections",
    default=MAX_CONNECTIONS,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="connections served at once (one thread each); more are refused",
)
@click.option(
    "--read-timeout",
    "read_timeout_s",
    default=READ_TIMEOUT_S,
    show_default=True,
    type=click.FloatRange(0.1, 60),
    help="seconds to read a whole request (TLS handshake, headers and body)",
)
@_model_opt
@click.option("--emulator", is_flag=True, help="use the canned-answer emulator as the model")
def serve(
    host: str,
    port: int,
    skill_id: str | None,
    any_skill: bool,
    no_verify: bool,
    certfile: str | None,
    keyfile: str | None,
    max_connections: int,
    read_timeout_s: float,
    model_ref: str | None,
    emulator: bool,
) -> None:
    """Serve the skill over HTTPS (with --certfile/--keyfile) or plain HTTP behind a TLS
    proxy, verifying Alexa's signatures and answering one skill id."""
    from skill.handler import build_skill
    from skill.server import MAX_BODY_BYTES, SkillServer
    from skill.verify import RequestVerifier

    if bool(certfile) != bool(keyfile):
        raise InputError("--certfile and --keyfile go together")
    settings = settings_with(skill_id=skill_id)
    if settings.skill_id and any_skill:
        raise InputError(f"--any-skill contradicts the skill id {settings.skill_id!r}: drop one")
    if not settings.skill_id and not any_skill:
        raise InputError(
            "no skill id: set PARLEY_SKILL_ID or --skill-id, or pass --any-skill to answer "
            "every Alexa skill (local tests only)"
        )
    if no_verify:
        click.secho(
            "WARNING: request verification is OFF. Anyone can call this endpoint as if they "
            "were Alexa. Use --no-verify for local testing only.",
            fg="red",
            bold=True,
            err=True,
        )
    chosen = (
        companion_model(None if emulator else model_ref, settings)
        if emulator or model_ref
        else nullcontext(
            (None, "from settings (PARLEY_SKILL_MODEL, else the prompt's model)", None)
        )
    )
    with chosen as (model, label, guardrail):
        skill_ = build_skill(model=model, settings=settings, guardrail=guardrail)
        verifier = None if no_verify else RequestVerifier()
        server = SkillServer(
            skill_,
            verifier=verifier,
            host=host,
            port=port,
            certfile=certfile,
            keyfile=keyfile,
            max_connections=max_connections,
            read_timeout_s=read_timeout_s,
        ).start()
        limits = (max_connections, read_timeout_s, MAX_BODY_BYTES)
        try:
            for line in _serve_modes(settings.skill_id, certfile, *limits):
                click.echo(line)
            click.echo(f"serving the skill at {server.url} (model: {label}); Ctrl-C stops")
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("stopping")
        finally:
            server.stop()


def _serve_modes(
    skill_id: str | None,
    certfile: str | None,
    max_connections: int,
    read_timeout_s: float,
    max_body_bytes: int,
) -> list[str]:
    """What the operator must know about a running `serve`: whose requests, which transport."""
    skill_line = (
        f"skill id: {skill_id} (requests for any other skill get 403)"
        if skill_id
        else "skill id: ANY (--any-skill): signed requests of every Alexa skill are answered"
    )
    transport = (
        f"transport: HTTPS (TLS certificate {certfile})"
        if certfile
        else "transport: plain HTTP, no TLS (Alexa calls only HTTPS: serve behind a "
        "TLS-terminating proxy, or pass --certfile/--keyfile)"
    )
    limits = (
        f"limits: {max_connections} connections at once (more are refused), "
        f"each request read within {read_timeout_s:g} s, bodies up to "
        f"{max_body_bytes // 1024} KiB (413 beyond)"
    )
    return [skill_line, transport, limits]


@skill.command()
@click.option("--endpoint", required=True, metavar="ARN", help="the skill's Lambda function ARN")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def package(endpoint: str, out_dir: Path) -> None:
    """Write a copy of skill/skill-package with the endpoint filled in, for `ask deploy`."""
    if not _LAMBDA_ARN.match(endpoint):
        raise InputError(
            f"not a Lambda function ARN: {endpoint!r} "
            "(expected arn:aws:lambda:<region>:<account>:function:<name>)"
        )
    if out_dir.resolve() == SKILL_PACKAGE.resolve():
        raise InputError("--out must not be the source skill-package directory")
    shutil.copytree(SKILL_PACKAGE, out_dir, dirs_exist_ok=True)
    manifest = out_dir / "skill.json"
    text = manifest.read_text(encoding="utf-8")
    if ENDPOINT_PLACEHOLDER not in text:
        raise InputError(f"{manifest}: no {ENDPOINT_PLACEHOLDER} placeholder to fill")
    manifest.write_text(text.replace(ENDPOINT_PLACEHOLDER, endpoint), encoding="utf-8")
    click.echo(f"wrote {out_dir} (endpoint {endpoint})")


@skill.command()
def guardrail() -> None:
    """Print the child-safety guardrail's CloudFormation properties (from
    pipeline/data/guardrail-policy.yaml), to paste under template.yaml's ChildSafetyGuardrail."""
    from ..guardrail_policy import cloudformation_yaml, load_policy

    click.echo(cloudformation_yaml(load_policy()), nl=False)
