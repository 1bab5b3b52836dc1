"""Configuration from the environment: one settings object for every front door.

Every variable is prefixed `PARLEY_`; defaults run on a fresh machine with no AWS
account (SQLite history, the prompts that ship with the package, the local baseline).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .resources import default_prompts_dir

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration. Read once per process with `get_settings()`."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    model: str = Field("local:baseline", description="model reference, e.g. bedrock:<model-id>")
    prompt: str = Field("suspicious-conversation@2", description="moderation prompt id@version")
    shadow_prompt: str | None = Field(
        None, description="second prompt run in shadow, never published"
    )
    companion_prompt: str = Field("companion@1", description="prompt of the voice companion")

    history: str = Field(
        "sqlite:parley.db",
        description="history store: sqlite:<path>, sqlite::memory:, or dynamodb:<table>",
    )
    prompts: str = Field(
        default_factory=lambda: str(default_prompts_dir()),
        description="prompt store: a directory or s3://bucket/prefix (default: the packaged "
        "prompts)",
    )
    verdicts_table: str | None = Field(None, description="DynamoDB table for verdicts")
    verdicts_sqlite: str | None = Field(None, description="SQLite file for verdicts (local runs)")
    event_bus: str | None = Field(None, description="EventBridge bus name for verdict events")
    risk_table: str | None = Field(
        None,
        description="DynamoDB table for conversations' risk states (pipeline.risk); local"
        " runs keep them in the verdicts' SQLite file",
    )

    region: str = Field("us-east-1", description="AWS region for Bedrock and DynamoDB")
    bedrock_endpoint_url: str | None = Field(None, description="Bedrock Runtime endpoint override")
    aws_endpoint_url: str | None = Field(None, description="endpoint for DynamoDB/S3/EventBridge")
    langchain_model: str = Field(
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        description="model id of langchain:pipeline.models.langchain_adapter:bedrock_converse",
    )

    max_concurrency: int = Field(8, ge=1, le=256, description="conversations judged at once")
    max_message_chars: int = Field(4000, ge=100, description="longer messages are truncated")
    model_deadline_s: float = Field(6.0, gt=0, description="deadline of one skill model call")
    min_remaining_ms: int = Field(
        10_000, ge=0, description="stream job stops starting work below this remaining time"
    )
    max_attempts: int = Field(6, ge=1, le=20, description="botocore attempts per model call")
    stream_max_judgements_per_conversation: int = Field(
        5,
        ge=1,
        description="stream job: model calls per conversation per batch when its new messages "
        "overflow the prompt's window (5 x 20 covers the default batch of 100); older ones "
        "stay unseen, counted in MessagesUnseen",
    )
    model_rpm: float | None = Field(
        None,
        ge=0,
        description="stream job: pace model calls to this rate per container (its share of "
        "the Bedrock quota); unset or 0: rely on botocore's adaptive retry mode alone",
    )

    model_lifecycle_check: bool = Field(
        False,
        description="stream job and skill: at start, ask Bedrock (GetFoundationModel) whether "
        "the model is LEGACY, and warn (log line and LegacyModel metric) if so",
    )

    quiet_queue_url: str | None = Field(
        None,
        description="stream job: SQS queue of wake-ups; set, a conversation without a risky "
        "new message is judged once quiet for quiet_seconds (pipeline.quiet)",
    )
    quiet_seconds: int = Field(5, ge=1, le=900, description="quiet period before a judgement")
    quiet_group_prompt: str | None = Field(
        "suspicious-group@1",
        description="wake-up worker: prompt judging quiet conversations together (pipeline.group); "
        "empty: each alone",
    )

    skill_id: str | None = Field(None, description="Alexa skill id this backend serves")
    skill_user_memory: bool = Field(False, description="remember a user across sessions")
    skill_max_calls_per_session: int = Field(30, ge=1)
    skill_model: str | None = Field(
        None, description="model of the voice companion; default: the companion prompt's model"
    )
    skill_max_calls_per_user_day: int = Field(
        200, ge=1, description="model calls per user in 24 h (counted with skill_user_memory)"
    )
    skill_stream: bool = Field(
        True, description="stream the companion's answer (ConverseStream) where the model can"
    )
    skill_progressive_after_s: float | None = Field(
        1.0, gt=0, description="send Alexa a progressive response when no answer after this"
    )
    guardrail_id: str | None = Field(None, description="Bedrock guardrail for the skill's answers")
    guardrail_version: str = Field("DRAFT", description="version of that guardrail")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached: Lambda reads the environment once)."""
    return Settings()
