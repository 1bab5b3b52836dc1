"""The control-plane answer the emulator gives: GetFoundationModel with a lifecycle status.

`GET /foundation-models/{modelIdentifier}` answers like Bedrock's control plane
(`modelDetails.modelLifecycle.status`), so `parley models` and the LEGACY checks run
offline. Sources, read 2026-12-06: Claude Haiku 4.5 ACTIVE and Claude 3 / 3.5 Haiku
Legacy or past end of life (their Bedrock model cards); Titan Text and Mistral 7B
legacy as this project found them; the Nova models as listed among Bedrock's current
models (no lifecycle row was found for them). Bedrock itself is the authority for a
real account: `parley models` without the emulator asks it.
"""

from __future__ import annotations

from typing import Any

# foundation-model id -> (provider, name, lifecycle status)
LIFECYCLE: dict[str, tuple[str, str, str]] = {
    "anthropic.claude-haiku-4-5-20251001-v1:0": ("Anthropic", "Claude Haiku 4.5", "ACTIVE"),
    "anthropic.claude-sonnet-4-20250514-v1:0": ("Anthropic", "Claude Sonnet 4", "ACTIVE"),
    "anthropic.claude-3-haiku-20240307-v1:0": ("Anthropic", "Claude 3 Haiku", "LEGACY"),
    "anthropic.claude-3-5-haiku-20241022-v1:0": ("Anthropic", "Claude 3.5 Haiku", "LEGACY"),
    "amazon.nova-micro-v1:0": ("Amazon", "Nova Micro", "ACTIVE"),
    "amazon.nova-lite-v1:0": ("Amazon", "Nova Lite", "ACTIVE"),
    "amazon.nova-pro-v1:0": ("Amazon", "Nova Pro", "ACTIVE"),
    "amazon.titan-text-lite-v1": ("Amazon", "Titan Text G1 - Lite", "LEGACY"),
    "amazon.titan-text-express-v1": ("Amazon", "Titan Text G1 - Express", "LEGACY"),
    "mistral.mistral-7b-instruct-v0:2": ("Mistral AI", "Mistral 7B Instruct", "LEGACY"),
}


def foundation_model_body(model_id: str, region: str = "us-east-1") -> dict[str, Any] | None:
    """The GetFoundationModel response for a model the emulator knows, else None."""
    known = LIFECYCLE.get(model_id)
    if known is None:
        return None
    provider, name, status = known
    return {
        "modelDetails": {
            "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
            "modelId": model_id,
            "modelName": name,
            "providerName": provider,
            "inputModalities": ["TEXT"],
            "outputModalities": ["TEXT"],
            "responseStreamingSupported": True,
            "customizationsSupported": [],
            "inferenceTypesSupported": ["ON_DEMAND"],
            "modelLifecycle": {"status": status},
        }
    }


class CatalogueClient:
    """The catalogue in process, with boto3's method name: for a caller that would
    otherwise start an emulator only to ask it (a suite whose answers are all cached)."""

    def get_foundation_model(self, modelIdentifier: str) -> dict[str, Any]:
        found = foundation_model_body(modelIdentifier)
        if found is None:
            raise LookupError(f"the emulator does not know {modelIdentifier}")
        return found
