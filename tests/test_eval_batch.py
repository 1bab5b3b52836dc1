"""Bedrock batch inference: JSONL records to moto's S3, a stubbed Bedrock control plane,
outputs written as Bedrock writes them, ingested into the same results and reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from pipeline.errors import ConfigError, ModelError
from pipeline.evaluation.batch import BATCH_PRICE_FACTOR, INPUT_FILE, run_batch, wait_for_job
from pipeline.evaluation.report import build_report, write_reports
from pipeline.evaluation.suite import load_suite
from pipeline.models.local import BaselineModel, turns_from_text
from pipeline.models.pricing import estimate_cost

FIXTURES = Path(__file__).parent / "fixtures"
ROLE = "arn:aws:iam::123456789012:role/parley-batch-inference"
JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123xyz789"
MODEL = "amazon.nova-micro-v1:0"


def job_description(status: str) -> dict[str, Any]:
    return {
        "jobArn": JOB_ARN,
        "jobName": "parley-batch",
        "modelId": MODEL,
        "roleArn": ROLE,
        "status": status,
        "submitTime": datetime(2026, 1, 1, tzinfo=UTC),
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://evals/in/records.jsonl"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://evals/out/"}},
    }


class FakeBedrockBatch:
    """Plays the Bedrock service while the runner sleeps: reads the input JSONL and
    writes `<output>/<job id>/records.jsonl.out` with Converse-shaped outputs."""

    def __init__(self, s3: Any, bucket: str, fail_record: int | None = None) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.fail_record = fail_record
        self.model = BaselineModel()
        self.inputs: list[dict[str, Any]] = []
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) > 1:
            return
        keys = [
            o["Key"]
            for o in self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
            if o["Key"].endswith(INPUT_FILE)
        ]
        assert len(keys) == 1
        body = self.s3.get_object(Bucket=self.bucket, Key=keys[0])["Body"].read().decode()
        self.inputs = [json.loads(line) for line in body.splitlines()]
        lines = []
        for index, record in enumerate(self.inputs):
            out: dict[str, Any] = {
                "recordId": record["recordId"],
                "modelInput": record["modelInput"],
            }
            if index == self.fail_record:
                out["error"] = {"errorCode": 400, "errorMessage": "bad request"}
            else:
                text = record["modelInput"]["messages"][0]["content"][0]["text"]
                verdict = self.model.judge(turns_from_text(text))
                out["modelOutput"] = {
                    "output": {
                        "message": {
                            "role": "assistant",
                            "content": [
                                {
                                    "toolUse": {
                                        "toolUseId": "t1",
                                        "name": "record_verdict",
                                        "input": verdict,
                                    }
                                }
                            ],
                        }
                    },
                    "stopReason": "tool_use",
                    "usage": {"inputTokens": 600, "outputTokens": 40, "totalTokens": 640},
                    "metrics": {"latencyMs": 300},
                }
            lines.append(json.dumps(out))
        folder = keys[0].rsplit("/", 1)[0]
        self.s3.put_object(
            Bucket=self.bucket,
            Key=f"{folder}/output/abc123xyz789/{INPUT_FILE}.out",
            Body="\n".join(lines).encode(),
        )
        self.s3.put_object(
            Bucket=self.bucket,
            Key=f"{folder}/output/abc123xyz789/manifest.json.out",
            Body=json.dumps({"totalRecordCount": len(lines)}).encode(),
        )


def suite_file(tmp_path: Path, models: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(
        "name: batchy\n"
        f"datasets: [{{path: {FIXTURES / 'eval-cases.jsonl'}, split: test}}]\n"
        "prompts: [suspicious-conversation@2]\n"
        f"models: {models}\n"
        "variants: [full, last_message]\n"
        "bootstrap: 100\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def bedrock_control() -> Any:
    return boto3.client("bedrock", region_name="us-east-1")


def test_batch_job_round_trip_into_the_report(
    tmp_path: Path, aws_client: Any, bedrock_control: Any
) -> None:
    # GIVEN a bucket on moto's S3 and a stubbed Bedrock control plane
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="evals")
    suite = load_suite(suite_file(tmp_path, f"['bedrock:{MODEL}', local:baseline]"))
    service = FakeBedrockBatch(s3, "evals", fail_record=3)
    stub = Stubber(bedrock_control)
    stub.add_response(
        "create_model_invocation_job",
        {"jobArn": JOB_ARN},
        {
            "jobName": ANY,
            "roleArn": ROLE,
            "modelId": MODEL,
            "modelInvocationType": "Converse",
            "inputDataConfig": ANY,
            "outputDataConfig": ANY,
            "timeoutDurationInHours": 24,
        },
    )
    stub.add_response(
        "get_model_invocation_job", job_description("Submitted"), {"jobIdentifier": JOB_ARN}
    )
    stub.add_response(
        "get_model_invocation_job", job_description("InProgress"), {"jobIdentifier": JOB_ARN}
    )
    stub.add_response(
        "get_model_invocation_job", job_description("Completed"), {"jobIdentifier": JOB_ARN}
    )
    logs: list[str] = []
    # WHEN the suite runs as a batch job
    with stub:
        outcome = run_batch(
            suite,
            s3_uri="s3://evals/parley",
            role_arn=ROLE,
            bedrock=bedrock_control,
            s3=s3,
            poll_s=30,
            sleep=service.sleep,
            log=logs.append,
        )
        stub.assert_no_pending_responses()
    # THEN the input held one Converse record per case and variant, the verdict tool forced
    assert len(service.inputs) == 2 * 11
    first = service.inputs[0]
    assert first["recordId"] == "R0000000000"
    assert set(first["modelInput"]) == {"messages", "inferenceConfig", "system", "toolConfig"}
    assert first["modelInput"]["toolConfig"]["toolChoice"] == {"tool": {"name": "record_verdict"}}
    assert service.sleeps == [30, 30]
    # AND every case of every cell has a result, bedrock ones from the job at batch prices
    assert len(outcome.results) == 4 * 11
    batch = [r for r in outcome.results if r.model.startswith("bedrock:")]
    assert len(batch) == 22
    failed = [r for r in batch if r.status == "error"]
    assert [(r.error, r.variant) for r in failed] == [("400", "full")]
    scored = [r for r in batch if r.status == "scored"]
    assert all(r.input_tokens == 600 and r.output_tokens == 40 for r in scored)
    assert scored[0].cost_usd == pytest.approx(estimate_cost(MODEL, 600, 40) * BATCH_PRICE_FACTOR)
    # The emulator-free answers agree with the local model on the same (full) conversations
    local = {
        r.case_id: r.suspicious for r in outcome.results if r.cell.endswith("local:baseline|full")
    }
    remote = {r.case_id: r.suspicious for r in scored if r.variant == "full"}
    assert all(local[c] == v for c, v in remote.items())
    assert outcome.info["batch_jobs"] == [JOB_ARN]
    assert any("Completed" in line for line in logs)
    # AND they go into the same reports and gate
    report = build_report(suite, outcome)
    paths = write_reports(report, tmp_path / "report")
    document = json.loads(paths["results"].read_text(encoding="utf-8"))
    assert len(document["cells"]) == 4
    assert report.gate is not None and not report.gate.passed  # one record failed
    assert "run incomplete" in report.gate.failures[0]


def test_failed_job_raises(bedrock_control: Any) -> None:
    stub = Stubber(bedrock_control)
    failed = {**job_description("Failed"), "message": "role cannot read the bucket"}
    stub.add_response("get_model_invocation_job", failed, {"jobIdentifier": JOB_ARN})
    with stub, pytest.raises(ModelError, match="ended Failed: role cannot read the bucket"):
        wait_for_job(bedrock_control, JOB_ARN, sleep=lambda _: None)


def test_cascades_cannot_run_as_a_batch(tmp_path: Path, bedrock_control: Any) -> None:
    suite = load_suite(suite_file(tmp_path, f"['cascade:local:baseline>bedrock:{MODEL}']"))
    with pytest.raises(ConfigError, match="batch runs bedrock: and local: models only"):
        run_batch(suite, s3_uri="s3://b/p", role_arn=ROLE, bedrock=bedrock_control, s3=None)
