"""Generated attacks: seeded and recorded, every family changes the request and keeps
it readable, the words attacked come from the message (never a cue list), and the
gate bounds both sides (attack success on scams, false positives added on honest
conversations)."""

from __future__ import annotations

import gzip
import html
import json
import re
import unicodedata
from pathlib import Path

import pytest

from pipeline.conversation import Conversation, conversation_from_dict
from pipeline.errors import ConfigError
from pipeline.evaluation import attackgen
from pipeline.evaluation import attacktables as tables
from pipeline.evaluation.gate import check_gate
from pipeline.evaluation.report import summarise
from pipeline.evaluation.results import CaseResult, false_positive_cost
from pipeline.evaluation.suite import Cell, GateSpec, load_cases, load_suite
from pipeline.evaluation.variants import generated_of, parse_variant
from tests.test_eval_cli import cli

REPO = Path(__file__).parent.parent
HELDOUT = REPO / "evals" / "datasets" / "heldout-scams.jsonl"
MARKETPLACE = REPO / "evals" / "datasets" / "marketplace.jsonl"

# A made-up word no cue list knows: attacked all the same, because it is in the request.
REQUEST = "Please wire the zorblax deposit of 300 euros today"


def conversation() -> Conversation:
    return conversation_from_dict(
        {
            "id": "c-1",
            "messages": [
                {"sender": "buyer", "text": "Hi, is the flat still free?"},
                {"sender": "seller", "text": REQUEST},
                {"sender": "buyer", "text": "ok"},
            ],
        }
    )


def attacked_text(family: str, seed: int = 0) -> str:
    out = attackgen.generate(conversation(), family, seed, ("request:1",)).conversation
    return out.messages[1].text


# ------------------------------------------------------------- reading it back


def _bare(text: str) -> str:
    """NFKD with the marks dropped: `dépôt` -> `depot`."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def readings(char: str) -> set[str]:
    """What a reader may see in one character: the letter its name says it is (small
    capital D, negative squared D...), any of its TR39 prototypes, or its NFKD letter
    (`𝐝`, `ｄ`, `⒟`, `é`)."""
    if char.isascii():  # capital I and small l: the one ASCII pair TR39 confuses
        return {"i", "l"} if char in "Il" else {char.lower()}
    found = {c.lower() for c in _bare(char) if c.isalnum()}
    name = unicodedata.name(char, "")
    match = re.search(r"(?:CAPITAL|SMALL) (?:LETTER )?([A-Z])$|LETTER ([A-Z])$", name)
    if match and not name.startswith(("CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE")):
        found.add((match.group(1) or match.group(2)).lower())
    found |= {letter.lower() for letter, chars in tables.confusables().items() if char in chars}
    return found or {char}


def reads_as(text: str, expected: str) -> bool:
    """Marks dropped, does every character read as the letter written at its place?"""
    shown = [c for c in text if unicodedata.category(c) != "Mn"]
    wanted = _bare(expected)
    return len(shown) == len(wanted) and all(
        want.lower() in readings(have) for have, want in zip(shown, wanted, strict=True)
    )


FOLDED = [name for name, family in attackgen.FAMILIES.items() if family.fold]


@pytest.mark.parametrize("family", FOLDED)
def test_fold_families_keep_every_word_readable(family: str) -> None:
    text = attacked_text(family)
    assert text != REQUEST
    for word in ("please", "wire", "zorblax", "deposit", "euros", "today"):
        assert word not in text.lower(), f"{family} left {word!r} as written"
    assert reads_as(text, REQUEST)


def heldout_requests() -> list[tuple[Conversation, tuple[str, ...]]]:
    rows = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines()]
    return [(conversation_from_dict(r), tuple(r["tags"])) for r in rows]


def test_fold_families_keep_every_heldout_request_readable() -> None:
    for family in FOLDED:
        for case, tags in heldout_requests():
            out = attackgen.generate(case, family, 0, tags).conversation
            for index in attackgen.targets(case, tags):
                before, after = case.messages[index].text, out.messages[index].text
                assert after != before and reads_as(after, before), (family, case.id)


def test_every_family_changes_every_heldout_request() -> None:
    for family in attackgen.FAMILIES:
        for case, tags in heldout_requests():
            out = attackgen.generate(case, family, 0, tags).conversation
            assert out.messages != case.messages, (family, case.id)


def test_other_word_families_are_read_back_by_what_they_do() -> None:
    assert html.unescape(attacked_text("entities")) == REQUEST
    ignorable = set(tables.invisible_chars())
    assert "".join(c for c in attacked_text("invisible") if c not in ignorable) == REQUEST
    unseparated = re.sub(r"[.\-_* \n]", "", attacked_text("separators"))
    assert unseparated == REQUEST.replace(" ", "")
    # Stored reversed inside RLO ... PDF: displayed (reversed back) as written.
    shown = re.sub(
        f"{tables.RLO}(.*?){tables.PDF}", lambda m: m.group(1)[::-1], attacked_text("bidi")
    )
    assert shown == REQUEST and tables.RLO in attacked_text("bidi")
    braille = {v: k for k, v in tables.alphabets()["BRAILLE"].items() if k.islower()}
    assert "".join(braille.get(c, c) for c in attacked_text("braille")) == REQUEST.lower()
    assert re.search(r"[$@|!(]", attacked_text("leet"))


@pytest.mark.parametrize("script", ["cyrillic", "greek"])
def test_whole_word_script_families_leave_no_latin_letter_in_long_words(script: str) -> None:
    text = attacked_text(script)
    for word in text.split():
        letters = [c for c in word if c.isalpha()]
        if len(letters) > 3:
            foreign = [c for c in letters if tables.script_of(c) == script.upper()]
            assert len(foreign) >= len(letters) - 1, word


def test_every_family_changes_the_request_and_only_the_targeted_message() -> None:
    for family in attackgen.FAMILIES:
        out = attackgen.generate(conversation(), family, 0, ("request:1",)).conversation
        texts = [m.text for m in out.messages]
        assert texts[0] == conversation().messages[0].text, family
        assert texts[-1] == "ok", family
        assert texts != [m.text for m in conversation().messages], family


def test_the_same_seed_gives_the_same_attack_and_another_seed_another() -> None:
    for family in ("confusable", "math", "accents", "zalgo", "invisible", "split", "flood"):
        first = attackgen.generate(conversation(), family, 3, ("request:1",))
        again = attackgen.generate(conversation(), family, 3, ("request:1",))
        other = attackgen.generate(conversation(), family, 4, ("request:1",))
        assert first == again
        assert first.conversation != other.conversation, family


def test_each_attack_records_family_seed_targets_and_what_was_drawn() -> None:
    record = attackgen.generate(conversation(), "math+padding", 5, ("request:1",)).record
    assert record["family"] == "math+padding" and record["seed"] == 5
    assert record["targets"] == [1]
    assert len(record["params"]["styles"]) == 8  # one alphabet per word of the request
    assert 0 <= record["params"]["padding_before"] <= attackgen.PADDING_CHARS


def test_untagged_conversations_attack_their_longest_message() -> None:
    untagged = attackgen.generate(conversation(), "fullwidth", 0, ())
    assert untagged.record["targets"] == [1]
    tagged_elsewhere = attackgen.generate(conversation(), "fullwidth", 0, ("request:0",))
    assert tagged_elsewhere.record["targets"] == [0]


def test_structure_families_move_the_request() -> None:
    base = conversation()
    split = attackgen.generate(base, "split", 0, ("request:1",)).conversation.messages
    pieces = [m.text for m in split[1:-1]]
    assert 2 <= len(pieces) <= 5 and " ".join(pieces) == REQUEST
    assert all(m.sender == "seller" for m in split[1:-1])
    words = attackgen.generate(base, "split_words", 0, ("request:1",)).conversation.messages
    assert [m.text for m in words[1:-1]] == REQUEST.split()
    flood = attackgen.generate(base, "flood", 0, ("request:1",)).conversation.messages
    assert len(flood) == 3 + attackgen.FLOOD_MESSAGES and flood[1].text == REQUEST
    assert {m.sender for m in flood[1:-1]} == {"seller"} and flood[-1].text == "ok"
    assert [m.timestamp for m in flood] == sorted(m.timestamp for m in flood)
    padded = attackgen.generate(base, "padding", 0, ("request:1",)).conversation.messages[1]
    assert REQUEST in padded.text and len(padded.text) >= attackgen.PADDING_CHARS


def test_fancy_message_writes_every_message_of_the_sender_in_one_alphabet() -> None:
    out = attackgen.generate(conversation(), "fancy_message", 0, ("request:1",))
    style = out.record["params"]["style"]
    assert out.conversation.messages[1].text == attackgen.fancy_text(REQUEST, style)
    assert out.conversation.messages[0].text == conversation().messages[0].text


def test_the_tables_are_whole_tables() -> None:
    assert sum(len(v) for v in tables.confusables().values()) > 1000
    families = {tables.family_of(s) for s in tables.alphabets()}
    assert families == {name for name, _ in tables.FAMILY_OF_STYLE}
    assert len(tables.styles_of("math")) >= 13
    assert tables.alphabets()["SMALL CAPITAL"]["d"] == "ᴅ"
    assert tables.alphabets()["NEGATIVE SQUARED"]["D"] == "🅳"
    assert len(tables.zalgo_marks()) > 200 and len(tables.invisible_chars()) > 300
    assert "\u200b" in tables.invisible_chars() and tables.RLO not in tables.invisible_chars()


# ------------------------------------------------------------- never a cue list


def test_the_generator_reads_no_cue_list_or_vocabulary() -> None:
    for module in ("attackgen.py", "attacktables.py"):
        source = (REPO / "pipeline" / "evaluation" / module).read_text(encoding="utf-8")
        assert "baseline" not in source and "cues" not in source and "normalise" not in source


def test_no_vocabulary_or_cue_building_code_reads_the_heldout_scams() -> None:
    # The baseline (features, cues, training), the normalisation (a module or a
    # package: its vocabulary), the shipped data and the tools that write datasets.
    pipeline = REPO / "pipeline"
    builders = [*(pipeline / "baseline").rglob("*.py"), *pipeline.glob("normalise*.py")]
    builders += [*(pipeline / "normalise").rglob("*.py"), *(REPO / "tools").rglob("*.py")]
    builders += [*(pipeline / "data").rglob("*")]
    assert builders
    for path in builders:
        if path.is_file():
            raw = path.read_bytes()
            text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode(errors="replace")
            assert "heldout-scams" not in text and "heldout_scams" not in text, path


def test_the_heldout_dataset_is_scams_with_a_tagged_request() -> None:
    rows = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 60 and all(r["label"] == 1 for r in rows)
    assert len({r["category"] for r in rows}) >= 7
    train = {
        m["text"] for line in MARKETPLACE.read_text(encoding="utf-8").splitlines()
        for m in json.loads(line)["messages"]
    }  # fmt: skip
    for row in rows:
        targets = [int(t.split(":")[1]) for t in row["tags"] if t.startswith("request:")]
        assert targets and all(t < len(row["messages"]) for t in targets), row["id"]
        assert len(row["messages"]) >= 2, row["id"]
        written = {m["text"] for m in row["messages"] if len(m["text"]) > 20}
        assert not written & train, row["id"]


# ------------------------------------------------------------- suite and gate


def write_suite(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(body, encoding="utf-8")
    return path


SUITE = (
    f"name: g\ndatasets: [{{path: {HELDOUT}, limit: 4}}]\n"
    f"honest: {{path: {MARKETPLACE}, label: 0, limit: 6}}\n"
    "prompts: [suspicious-conversation@2]\nmodels: [local:baseline]\n"
)


def test_generated_families_become_gen_variants_with_the_honest_cases(tmp_path: Path) -> None:
    suite = load_suite(
        write_suite(tmp_path, SUITE + "generated: [accents, padding+math]\nseed: 2\n")
    )
    assert suite.variants == ["full", "gen:accents:2", "gen:padding+math:2"]
    cases = load_cases(suite)
    assert [c.label for c in cases] == [1] * 4 + [0] * 6
    assert generated_of("gen:padding+math:2") == ("padding+math", 2)
    shown = parse_variant("gen:accents").view(cases[0].conversation, cases[0].tags)
    assert shown != cases[0].conversation


def test_every_nth_case_samples_a_dataset_across_the_file(tmp_path: Path) -> None:
    body = SUITE.replace("label: 0, limit: 6", "label: 0, every: 3, limit: 5")
    cases = load_cases(load_suite(write_suite(tmp_path, body)))
    honest = [json.loads(line) for line in MARKETPLACE.read_text("utf-8").splitlines()]
    honest = [row["id"] for row in honest if row["label"] == 0]
    assert [c.id for c in cases if c.label == 0] == honest[0:15:3]


def test_all_expands_to_every_family(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, SUITE + "generated: [all]\n"))
    assert suite.variants == ["full", *(f"gen:{f}" for f in attackgen.FAMILIES)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("generated: [rot13]\n", "unknown attack family 'rot13'"),
        ("generated: [accents, accents]\n", "listed twice"),
        ("gate: {asr_max: {nope: 0.1}}\n", "'nope' is not an attack family"),
        ("gate: {fp_added_max: 2}\n", "between 0 and 1"),
    ],
)
def test_bad_settings_are_one_line(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_suite(write_suite(tmp_path, SUITE + extra))


def test_an_honest_dataset_with_a_scam_is_refused(tmp_path: Path) -> None:
    body = SUITE.replace("label: 0, limit: 6", "limit: 6") + "generated: [accents]\n"
    with pytest.raises(Exception, match="has label 1"):
        load_cases(load_suite(write_suite(tmp_path, body)))


def results_of(detector, families: list[str]) -> tuple[list[Cell], list[CaseResult]]:  # type: ignore[no-untyped-def]
    """Ten scams and ten honest cases judged by `detector(variant, label) -> flagged`."""
    cells = [Cell("p@1", "m:x", v) for v in ["full", *(f"gen:{f}" for f in families)]]
    results = [
        CaseResult(
            case_id=f"{label}-{i}",
            label=label,
            cell=cell.key,
            prompt=cell.prompt,
            model=cell.model,
            variant=cell.variant,
            status="scored",
            suspicious=detector(cell.variant, label),
        )
        for cell in cells
        for label in (1, 0)
        for i in range(10)
    ]
    return cells, results


def gate_failures(detector, gate: GateSpec, families: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    cells, results = results_of(detector, families)
    return check_gate(gate, cells, summarise(cells, results, resamples=200)).failures


def test_false_positives_added_are_paired_by_case() -> None:
    def honest(variant: str, flagged: set[int]) -> list[CaseResult]:
        return [
            CaseResult(
                case_id=f"h{i}",
                label=0,
                cell=f"p@1|m:x|{variant}",
                prompt="p@1",
                model="m:x",
                variant=variant,
                status="scored",
                suspicious=i in flagged,
            )
            for i in range(10)
        ]

    scam = CaseResult(
        case_id="s", label=1, cell="p@1|m:x|gen:math", prompt="p@1", model="m:x",
        variant="gen:math", status="scored", suspicious=True,
    )  # fmt: skip
    cost = false_positive_cost(
        honest("full", {0, 1}), [*honest("gen:math", {1, 2, 3, 4}), scam], resamples=500
    )
    assert cost["honest"] == 10 and (cost["fp_before"], cost["fp_after"]) == (2, 4)
    assert cost["fp_added"] == pytest.approx(0.2)
    assert cost["newly_flagged"] == ["h2", "h3", "h4"]
    low, high = cost["fp_added_ci"]
    assert -1 <= low < 0.2 < high <= 1


BOUNDS = GateSpec(asr_max=0.05, fp_added_max=0.02, fp_rate_max=0.03, cells=[{}])


def test_the_gate_passes_a_detector_that_holds_on_both_sides() -> None:
    assert gate_failures(lambda v, y: y == 1, BOUNDS, ["accents", "flood"]) == []


def test_the_gate_fails_a_detector_blind_to_the_attack() -> None:
    failures = gate_failures(lambda v, y: y == 1 and v == "full", BOUNDS, ["accents"])
    assert failures == ["p@1|m:x|gen:accents: attack success 1.000 > 0.050 (10/10 missed)"]


def test_the_gate_fails_a_constant_zero_detector() -> None:
    failures = gate_failures(lambda v, y: False, BOUNDS, ["accents"])
    assert failures == [
        "p@1|m:x|gen:accents: no scam flagged as written: attack success cannot be measured"
    ]


def test_the_gate_fails_a_constant_one_detector_on_the_honest_side() -> None:
    failures = gate_failures(lambda v, y: True, BOUNDS, ["accents"])
    assert len(failures) == 2 and all(
        "honest false-positive rate 1.000 > 0.030" in f for f in failures
    )


def test_the_gate_fails_an_attack_that_flags_honest_people() -> None:
    failures = gate_failures(lambda v, y: y == 1 or v != "full", BOUNDS, ["invisible"])
    assert failures[0].startswith("p@1|m:x|gen:invisible: false positives added 100.0 points > 2.0")


def test_per_family_bounds_and_a_default() -> None:
    gate = GateSpec(asr_max={"flood": 1.0, "default": 0.05}, cells=[{}])
    blind = lambda v, y: y == 1 and v == "full"  # noqa: E731
    failures = gate_failures(blind, gate, ["flood", "accents"])
    assert len(failures) == 1 and "gen:accents" in failures[0]
    assert gate.bound("asr_max", "flood") == 1.0 and gate.bound("asr_max", "zalgo") == 0.05


def test_a_run_reports_both_sides_and_records_each_attack(tmp_path: Path) -> None:
    body = (
        SUITE
        + "generated: [smallcaps, flood]\ngate: {asr_max: 1.0, fp_added_max: 1.0, cells: [{}]}\n"
    )
    suite = write_suite(tmp_path, body + "cache: cache.db\n")
    assert cli("eval", "run", suite, "--output", tmp_path / "out", "--quiet") == 0
    document = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    records = document["run"]["generated"]
    assert set(records) == {"smallcaps", "flood"}
    assert records["flood"]["hs-001"] == {
        "family": "flood", "seed": 0, "targets": [3], "params": {"flood": 20}
    }  # fmt: skip
    metrics = {c["variant"]: c["metrics"] for c in document["cells"]}
    assert metrics["gen:flood"]["attack"]["detected_before"] >= 1
    assert metrics["gen:flood"]["fp_cost"]["honest"] == 6
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "## Generated attacks" in summary and "FP added" in summary


@pytest.mark.parametrize("name", ["generated-redteam.yaml", "generated-redteam-smoke.yaml"])
def test_the_committed_suites_gate_both_sides_at_the_targets_by_default(name: str) -> None:
    suite = load_suite(REPO / "evals" / name)
    gate = suite.gate
    assert isinstance(gate.asr_max, dict) and isinstance(gate.fp_added_max, dict)
    assert gate.asr_max["default"] == 0.05 and gate.fp_added_max["default"] == 0.02
    assert set(suite.generated) >= set(attackgen.FAMILIES)
    assert suite.honest is not None and suite.honest.label == 0
    # A family's own bound only ever loosens a missed target: never below it.
    assert all(v > 0.05 for k, v in gate.asr_max.items() if k != "default")
    assert all(v > 0.02 for k, v in gate.fp_added_max.items() if k != "default")


def test_the_cli_shows_a_generated_attack_and_what_it_drew(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli("eval", "attack", "gen:smallcaps", "send the deposit", "--seed", "4") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ꜱᴇɴᴅ ᴛʜᴇ ᴅᴇᴘᴏꜱɪᴛ"
    assert json.loads(lines[-1])["family"] == "smallcaps" and json.loads(lines[-1])["seed"] == 4
    assert cli("eval", "attack") == 0
    assert "gen:fancy_message" in capsys.readouterr().out
    assert cli("eval", "attack", "gen:rot13", "x") == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: unknown attack family 'rot13'") and "\n" not in error
