"""Prompt templates (YAML front matter + Jinja2) and the stores that hold them.

User text is only ever a template *variable*, never template source, and every
variable passes through `neutralise()` on output (the environment's `finalize`),
so it cannot close the `<message>` delimiters, inject markup or control characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import yaml
from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .conversation import LONE_SURROGATE, Conversation, truncate_text
from .errors import ConfigError, InputError
from .normalise import DEFAULT_IGNORABLE, normalise
from .verdict import new_answer_nonce

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)
_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)
# C0/C1 controls other than tab and newline; they can hide text or break terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional overrides/isolates can make text read differently than it is.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Unicode tag characters are invisible to a reader but spell ASCII to a model
# ("ASCII smuggling"): a run of them becomes one visible mark.
_TAG_CHARS = re.compile(r"[\U000e0000-\U000e007f]+")
# Every other default-ignorable code point (zero-width characters, soft hyphens,
# variation selectors, which can smuggle text like tags can): removed.
_IGNORABLE = re.compile(f"[{DEFAULT_IGNORABLE}]+")


def neutralise(value: object) -> str:
    """Make a value safe to place between the prompt's delimiters.

    Escapes `&`, `<`, `>` (so no tag, and no `</message>`, can be written), removes
    control characters and lone surrogates, shows bidi controls and hidden tag
    characters as visible marks, and removes the other default-ignorable characters.
    (Messages of a conversation are normalised before this, see `render_conversation`.)
    """
    text = value if isinstance(value, str) else str(value)
    text = LONE_SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text)
    text = _BIDI.sub(lambda m: f"[U+{ord(m.group(0)):04X}]", text)
    text = _TAG_CHARS.sub("[hidden tag characters]", text)
    text = _IGNORABLE.sub("", text)
    text = unicodedata.normalize("NFC", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _finalize(value: Any) -> Any:
    # Applied to every {{ expression }}: data is neutralised whatever the template does.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return neutralise(value)
    return value


_ENV = SandboxedEnvironment(
    undefined=StrictUndefined,
    finalize=_finalize,
    autoescape=False,
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


class Inference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(300, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0.0, le=1.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    stop_sequences: list[str] = Field(default_factory=list)


class HistoryWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: int = Field(20, ge=1, le=1000, description="newest N messages given to the model")
    token_budget: int = Field(3000, ge=50, description="estimated tokens for the conversation")
    max_message_chars: int = Field(2000, ge=50, description="longer messages are truncated")


class PromptMeta(BaseModel):
    """Front matter of a prompt file."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    purpose: str
    model: str = "local:baseline"
    output: Literal["verdict", "legacy", "text"] = "verdict"
    inference: Inference = Field(default_factory=Inference)
    history: HistoryWindow = Field(default_factory=HistoryWindow)

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


@dataclass(frozen=True)
class RenderedPrompt:
    """Exactly what the model receives."""

    ref: str
    system: str | None
    user: str
    output: str
    inference: Inference
    default_model: str
    messages_shown: int
    # The windowed conversation as shown, for models that read messages, not text.
    conversation: Conversation | None = None
    variables: dict[str, Any] | None = None
    # This request's answer code for the text answer contract (pipeline.verdict).
    nonce: str | None = None
    # In the messages shown: characters hidden (removed), look-alikes (replaced),
    # separators removed from broken words, digits read as letters (pipeline.normalise).
    obfuscation: tuple[int, ...] = (0, 0, 0, 0)

    def as_text(self) -> str:
        """One string, for models that take no system prompt (Titan, Mistral 7B)."""
        return f"{self.system}\n\n{self.user}" if self.system else self.user


def estimate_tokens(text: str) -> int:
    """A rough token count (4 characters a token), enough for budgets and costs."""
    return max(1, (len(text) + 3) // 4)


def fit_budget(conversation: Conversation, window: HistoryWindow) -> Conversation:
    """Newest `window.messages` messages, then drop the oldest until the budget holds.

    The newest message is always kept: it is the one being judged.
    """
    recent = conversation.window(window.messages)
    kept: list = []
    used = 0
    for message in reversed(recent.messages):
        cost = estimate_tokens(message.text[: window.max_message_chars]) + 8
        if kept and used + cost > window.token_budget:
            break
        kept.append(message)
        used += cost
    return recent.model_copy(update={"messages": tuple(reversed(kept))})


class PromptTemplate:
    """A parsed prompt file: metadata plus Jinja2 sections `[system]` and `[user]`."""

    def __init__(self, meta: PromptMeta, sections: dict[str, str], source: str = "") -> None:
        self.meta = meta
        self.sections = sections
        self.source = source

    @classmethod
    def parse(cls, text: str, *, origin: str = "<prompt>") -> PromptTemplate:
        match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
        if not match:
            raise ConfigError(f"{origin}: a prompt file starts with '---' front matter")
        try:
            meta = PromptMeta.model_validate(yaml.safe_load(match.group(1)))
        except (yaml.YAMLError, ValidationError) as exc:
            raise ConfigError(f"{origin}: bad front matter: {exc}") from None
        body = match.group(2)
        parts = _SECTION.split(body)
        sections = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
        if "user" not in sections:
            raise ConfigError(f"{origin}: a prompt needs a [user] section")
        for name, source in sections.items():
            try:
                _ENV.parse(source)
            except TemplateError as exc:
                raise ConfigError(f"{origin}: [{name}] is not valid Jinja2: {exc}") from None
        return cls(meta, sections, text)

    @cached_property
    def _compiled(self) -> dict[str, Any]:
        return {name: _ENV.from_string(src) for name, src in self.sections.items()}

    def precompile(self) -> PromptTemplate:
        """Compile the Jinja2 sections now rather than at the first render (SnapStart
        does this before the snapshot)."""
        _ = self._compiled
        return self

    def render(self, **variables: Any) -> RenderedPrompt:
        """Render with the given variables; a missing one is an error, never blank.

        Every render draws a fresh `answer_nonce` (unless one is given): a template
        whose model answers in text may show it in its instruction, and the adapters'
        text fallbacks append the instruction that carries it.
        """
        if not isinstance(variables.get("answer_nonce"), str):
            variables["answer_nonce"] = new_answer_nonce()
        try:
            rendered = {name: t.render(**variables).strip() for name, t in self._compiled.items()}
        except UndefinedError as exc:
            raise InputError(f"prompt {self.meta.ref}: missing variable ({exc.message})") from None
        conversation = variables.get("conversation")
        shown = len(conversation.messages) if isinstance(conversation, Conversation) else 0
        return RenderedPrompt(
            ref=self.meta.ref,
            system=rendered.get("system") or None,
            user=rendered["user"],
            output=self.meta.output,
            inference=self.meta.inference,
            default_model=self.meta.model,
            messages_shown=shown,
            conversation=conversation if isinstance(conversation, Conversation) else None,
            variables={k: v for k, v in variables.items() if isinstance(v, str)},
            nonce=variables["answer_nonce"],
        )

    def render_conversation(self, conversation: Conversation, **extra: Any) -> RenderedPrompt:
        """Normalise messages, window by the front matter, truncate long ones, render.

        Messages are normalised first (`pipeline.normalise`): hidden characters never
        reach the model, which reads the text as a person does (`Normalised.display`:
        nothing folded), and a message that disguised a word starts with a marker
        saying how (obfuscation is evidence). `RenderedPrompt.conversation` holds the
        messages as shown, without the markers; `RenderedPrompt.obfuscation` the counts.
        """
        window = self.meta.history
        normalised = [normalise(m.text) for m in conversation.messages]
        clean = conversation.model_copy(
            update={
                "messages": tuple(
                    m.model_copy(update={"text": n.display})
                    for m, n in zip(conversation.messages, normalised, strict=True)
                )
            }
        )
        fitted = fit_budget(clean, window)
        found = normalised[len(normalised) - len(fitted.messages) :]
        shown = fitted.model_copy(
            update={
                "messages": tuple(
                    m.model_copy(update={"text": truncate_text(m.text, window.max_message_chars)})
                    for m in fitted.messages
                )
            }
        )
        marked = tuple(
            m.model_copy(update={"text": f"{n.marker()}\n{m.text}"}) if n.obfuscated else m
            for m, n in zip(shown.messages, found, strict=True)
        )
        rendered = self.render(conversation=shown, messages=marked, **extra)
        counts = tuple(
            sum(getattr(n, kind) for n in found)
            for kind in ("hidden", "lookalikes", "separators", "digits")
        )
        return replace(rendered, obfuscation=counts)


class PromptStore(Protocol):
    """Where prompt templates live."""

    def get(self, ref: str) -> PromptTemplate: ...

    def list(self) -> list[PromptMeta]: ...


def split_ref(ref: str) -> tuple[str, int | None]:
    """'id@3' -> ('id', 3); 'id' -> ('id', None) meaning the newest version."""
    name, _, version = ref.partition("@")
    if not name:
        raise InputError(f"not a prompt reference: {ref!r} (expected id@version)")
    if not version:
        return name, None
    try:
        return name, int(version.lstrip("v"))
    except ValueError:
        raise InputError(f"not a prompt version: {ref!r} (expected id@<number>)") from None


class _TextPromptStore:
    """Shared lookup over `(id, version) -> file text`; subclasses list and read."""

    def _files(self) -> Iterable[tuple[str, int, str]]:
        raise NotImplementedError

    def _read(self, key: str) -> str:
        raise NotImplementedError

    def __init__(self) -> None:
        self._cache: dict[str, PromptTemplate] = {}

    def _index(self) -> dict[tuple[str, int], str]:
        return {(pid, version): key for pid, version, key in self._files()}

    def get(self, ref: str) -> PromptTemplate:
        name, version = split_ref(ref)
        index = self._index()
        if version is None:
            versions = [v for (pid, v) in index if pid == name]
            if not versions:
                raise InputError(f"unknown prompt id {name!r}; known: {self._known(index)}")
            version = max(versions)
        key = index.get((name, version))
        if key is None:
            raise InputError(f"unknown prompt {name}@{version}; known: {self._known(index)}")
        if key not in self._cache:
            template = PromptTemplate.parse(self._read(key), origin=key)
            if template.meta.ref != f"{name}@{version}":
                raise ConfigError(f"{key}: front matter says {template.meta.ref}")
            self._cache[key] = template
        return self._cache[key]

    def list(self) -> list[PromptMeta]:
        return [self.get(f"{pid}@{v}").meta for pid, v in sorted(self._index())]

    @staticmethod
    def _known(index: dict[tuple[str, int], str]) -> str:
        return ", ".join(f"{p}@{v}" for p, v in sorted(index)) or "none"


_FILE_NAME = re.compile(r"^v(\d+)\.j2$")


class DirectoryPromptStore(_TextPromptStore):
    """Prompts in a directory: `<root>/<prompt-id>/v<version>.j2`."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)
        if not self.root.is_dir():
            raise ConfigError(f"prompt directory not found: {self.root}")

    def _files(self) -> Iterable[tuple[str, int, str]]:
        for path in sorted(self.root.glob("*/v*.j2")):
            match = _FILE_NAME.match(path.name)
            if match:
                yield path.parent.name, int(match.group(1)), str(path)

    def _read(self, key: str) -> str:
        return Path(key).read_text(encoding="utf-8")


class S3PromptStore(_TextPromptStore):
    """Prompts in S3 under `s3://bucket/prefix/<prompt-id>/v<version>.j2`."""

    def __init__(self, bucket: str, prefix: str = "", *, client: S3Client | None = None) -> None:
        super().__init__()
        from . import aws  # the shared session: a SnapStart restore closes this client too

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or aws.client("s3")
        self._listing: list[tuple[str, int, str]] | None = None

    def _files(self) -> Iterable[tuple[str, int, str]]:
        if self._listing is None:
            listing = []
            paginator = self.client.get_paginator("list_objects_v2")
            start = f"{self.prefix}/" if self.prefix else ""
            for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", []):
                    parts = item["Key"][len(start) :].split("/")
                    if len(parts) == 2 and (match := _FILE_NAME.match(parts[1])):
                        listing.append((parts[0], int(match.group(1)), item["Key"]))
            self._listing = listing
        return self._listing

    def _read(self, key: str) -> str:
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body.decode("utf-8")


def open_prompt_store(location: str, *, s3_client: Any = None) -> PromptStore:
    """A store from a settings string: a directory, or s3://bucket/prefix."""
    if location.startswith("s3://"):
        bucket, _, prefix = location[5:].partition("/")
        return S3PromptStore(bucket, prefix, client=s3_client)
    return DirectoryPromptStore(Path(location))
