"""`parley demo`: the original marketplace lesson, replayed on the embedded defaults.

A seller's request for a deposit reads differently alone, after a buyer asked to
visit, and with the order reversed: context and order matter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from ..conversation import Message, last_message_only, reversed_order
from ..history import SqliteHistory
from ..models import resolve
from ..moderation import assess
from ..prompts import open_prompt_store
from .common import echo_json, json_option, model_option, prompt_option, settings_with
from .render import verdict_rows

SCENARIO = (
    ("buyer", "I am interested in your house, can we fix a visit?"),
    ("seller", "Send me a 5000 dollar deposit before the visit"),
)


@click.command()
@model_option
@prompt_option
@json_option
def demo(model_ref: str | None, prompt_ref: str | None, as_json: bool) -> None:
    """Replay the deposit-before-visit scenario and print three verdicts.

    Runs with no AWS account on `local:baseline`; set PARLEY_MODEL or --model
    (e.g. bedrock:amazon.nova-micro-v1:0) to ask Bedrock instead.
    """
    settings = settings_with(model=model_ref, prompt=prompt_ref)
    template = open_prompt_store(settings.prompts).get(settings.prompt)
    model = resolve(settings.model)

    # The history goes through a real store, as in the stream job: newest N, in order.
    store = SqliteHistory(":memory:")
    start = datetime(2024, 3, 2, 9, 15, tzinfo=UTC)
    for minute, (sender, text) in enumerate(SCENARIO):
        store.append(
            Message(
                conversation_id="dealofday-house-1",
                timestamp=start + timedelta(minutes=6 * minute),
                sender=sender,
                text=text,
            )
        )
    conversation = store.latest("dealofday-house-1", template.meta.history.messages)
    cases = [
        ("seller's message alone", last_message_only(conversation)),
        ("whole conversation, in order", conversation),
        ("order reversed", reversed_order(conversation)),
    ]
    verdicts = [(title, assess(c, template, model)) for title, c in cases]
    if as_json:
        echo_json([{"case": t, "verdict": v.model_dump(mode="json")} for t, v in verdicts])
        return
    click.echo(f"model: {model.model_id}   prompt: {template.meta.ref}\n")
    click.echo(verdict_rows(verdicts))
    click.echo(
        "\nThe same deposit request is judged alone, after a request to visit, and with the"
        "\norder reversed. The original one-line prompt on Titan Text Lite answered 0, 1, 0:"
        "\ncontext and order decide, so parley always sends the newest messages, in order."
    )
    if len({v.suspicious for _, v in verdicts}) == 1:
        click.echo(
            f"\n{model.model_id} gives one answer to all three: it reads words, not order."
            "\nA language model (--model bedrock:<model-id>) is what can tell them apart;"
            "\n`parley eval evals/smoke.yaml` measures what each variant costs on labelled data."
        )
