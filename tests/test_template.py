"""Checks of the deployed system's template (template.yaml, AWS SAM).

Each rule is a small pure function `*_problems(template) -> list[str]` (empty: the rule
holds). The tests run every rule on the real template, then prove each rule still bites by
running it on a carelessly edited copy. cfn-lint runs on the file as a last test.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.history import EXPIRES_AT

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"

Template = dict[str, Any]

# Actions that have no resource-level permissions, so "Resource": "*" is the only option.
RESOURCE_STAR_ALLOWED = {
    "xray:PutTraceSegments": "X-Ray segment upload has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray telemetry upload has no resource-level permissions",
}
MAX_STREAM_RETRIES = 5
ALEXA_TIMEOUT_S = 8
SKILL_HANDLER = "skill.handler.lambda_handler"
STREAM_HANDLER = "pipeline.stream.lambda_handler"
REVIEW_HANDLER = "review.lambda_handler.lambda_handler"
QUIET_HANDLER = "pipeline.quiet_worker.lambda_handler"
DYNAMODB_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}
FOUNDATION_MODEL_ARN = re.compile(
    r"arn:\$\{AWS::Partition\}:bedrock:(?P<region>\$\{AWS::Region\}|\*)::"
    r"foundation-model/\$\{BedrockModelId\}"
)
INFERENCE_PROFILE_ARN = re.compile(
    r"arn:\$\{AWS::Partition\}:bedrock:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
    r"inference-profile/\$\{BedrockInferenceProfile\}\.\$\{BedrockModelId\}"
)
GUARDRAIL_ARN = re.compile(
    r"arn:\$\{AWS::Partition\}:bedrock:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
    r"guardrail/\$\{GuardrailId\}"
)
NO_VALUE = {"Ref": "AWS::NoValue"}
SHIPPED_GUARDRAIL = "ChildSafetyGuardrail"


# -- loading ---------------------------------------------------------------------------


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that turns CloudFormation short tags into their long forms."""


def _construct_short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    key = "Ref" if suffix == "Ref" else ("Condition" if suffix == "Condition" else f"Fn::{suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)  # !GetAtt A.B -> ["A", "B"]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


CloudFormationLoader.add_multi_constructor("!", _construct_short_tag)


def load_template(path: Path = TEMPLATE_PATH) -> Template:
    """The template as plain data, short tags expanded (!Ref x -> {"Ref": "x"})."""
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CloudFormationLoader)  # a SafeLoader subclass


# -- navigation helpers ------------------------------------------------------------------


def resources(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    return {
        name: res for name, res in template.get("Resources", {}).items() if res.get("Type") == type_
    }


def functions(template: Template) -> dict[str, dict[str, Any]]:
    """Properties of every Lambda function, SAM Globals merged in (function values win)."""
    globals_ = template.get("Globals", {}).get("Function", {})
    merged: dict[str, dict[str, Any]] = {}
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function":
            combined = {**copy.deepcopy(globals_), **props}
            env = {
                **globals_.get("Environment", {}).get("Variables", {}),
                **props.get("Environment", {}).get("Variables", {}),
            }
            combined["Environment"] = {"Variables": env}
            merged[name] = combined
        elif res.get("Type") == "AWS::Lambda::Function":
            merged[name] = props
    return merged


def branches(value: Any) -> Iterator[Any]:
    """The possible values of a property: both arms of Fn::If, AWS::NoValue dropped."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        yield from branches(when_true)
        yield from branches(when_false)
    elif value != NO_VALUE:
        yield value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(template: Template) -> list[tuple[str, dict[str, Any]]]:
    """Every statement of every identity policy (roles, policies, SAM inline policies)."""
    documents: list[tuple[str, Any]] = []
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::IAM::Role":
            for policy in as_list(props.get("Policies", [])):
                for arm in branches(policy):
                    documents.append((f"{name}/{arm.get('PolicyName')}", arm["PolicyDocument"]))
        elif res.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append((name, props["PolicyDocument"]))
        elif res.get("Type") == "AWS::Serverless::Function":
            for policy in as_list(props.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:
                    documents.append((f"{name}/Policies", policy))
                else:  # a managed policy name or a SAM policy template: not explicit
                    documents.append((f"{name}/Policies", {"Statement": [{"Unreadable": policy}]}))
    statements = []
    for where, document in documents:
        for statement in as_list(document.get("Statement", [])):
            for arm in branches(statement):
                statements.append((f"{where}/{arm.get('Sid', '?')}", arm))
    return statements


def sub_text(value: Any) -> str | None:
    """The text of a string or a Fn::Sub with a string argument."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return value["Fn::Sub"]
    return None


def ref_target(value: Any) -> str | None:
    """The logical id behind a Ref or a Fn::GetAtt."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return value["Ref"]
        if isinstance(value.get("Fn::GetAtt"), list):
            return value["Fn::GetAtt"][0]
    return None


def function_of(value: Any) -> str | None:
    """The function behind a reference, whether to it or to its SAM alias (`Fn.Alias`)."""
    target = ref_target(value)
    return target.removesuffix(".Alias") if target else None


def stream_mappings(template: Template) -> list[tuple[str, dict[str, Any]]]:
    """DynamoDB stream event sources, from SAM events or plain event source mappings."""
    found = []
    for name, props in functions(template).items():
        for event_name, event in props.get("Events", {}).items():
            if event.get("Type") == "DynamoDB":
                found.append((f"{name}/{event_name}", event.get("Properties", {})))
    for name, res in resources(template, "AWS::Lambda::EventSourceMapping").items():
        arn = res.get("Properties", {}).get("EventSourceArn")
        if isinstance(arn, dict) and arn.get("Fn::GetAtt", [None, None])[1] == "StreamArn":
            props = dict(res["Properties"])
            props["Stream"] = arn
            found.append((name, props))
    return found


def skill_functions(template: Template) -> dict[str, dict[str, Any]]:
    return {n: p for n, p in functions(template).items() if p.get("Handler") == SKILL_HANDLER}


# -- the rules -------------------------------------------------------------------------


def _unscoped_resource(resource: Any) -> bool:
    text = sub_text(resource)
    if text is None:
        return False
    if text == "*":
        return True
    # Placeholders like ${AWS::Partition} contain colons: flatten them before splitting.
    parts = re.sub(r"\$\{[^}]*\}", "x", text).split(":", 5)
    # arn:partition:service:region:account:<resource> -- "*" or "table/*" names nothing.
    return len(parts) == 6 and (parts[5] == "*" or re.fullmatch(r"[A-Za-z-]+/\*", parts[5]))


def wildcard_statements(template: Template) -> list[str]:
    """Allow statements with a wildcard action, NotAction/NotResource, or an unscoped resource."""
    problems = []
    for where, statement in policy_statements(template):
        if "Unreadable" in statement:
            problems.append(
                f"{where}: managed policy or policy template {statement['Unreadable']!r}"
            )
            continue
        if statement.get("Effect") != "Allow":
            continue
        for key in ("NotAction", "NotResource"):
            if key in statement:
                problems.append(f"{where}: {key} grants everything else")
        actions = [a for arm in branches(statement.get("Action", [])) for a in as_list(arm)]
        for action in actions:
            if not isinstance(action, str) or "*" in action or "?" in action:
                problems.append(f"{where}: wildcard action {action!r}")
        resource_list = [r for arm in branches(statement.get("Resource", [])) for r in as_list(arm)]
        if any(_unscoped_resource(r) for r in resource_list):
            not_allowed = sorted(a for a in actions if a not in RESOURCE_STAR_ALLOWED)
            if not_allowed or not actions:
                problems.append(f"{where}: unscoped resource for {not_allowed}")
    return problems


def bedrock_problems(template: Template) -> list[str]:
    """bedrock:InvokeModel only on the parameter's model (foundation model or its profile)."""
    problems = []
    in_region_grants = 0
    for where, statement in policy_statements(template):
        actions = [a for arm in branches(statement.get("Action", [])) for a in as_list(arm)]
        bedrock = [a for a in actions if isinstance(a, str) and a.startswith("bedrock:")]
        if not bedrock or statement.get("Effect") != "Allow":
            continue
        if "bedrock:ApplyGuardrail" in bedrock:
            # Only the parameter's guardrail or the one the stack ships.
            for resource in branches(statement.get("Resource", [])):
                text = sub_text(resource) or ""
                shipped = resource == {"Fn::GetAtt": [SHIPPED_GUARDRAIL, "GuardrailArn"]}
                if not (GUARDRAIL_ARN.fullmatch(text) or shipped):
                    problems.append(f"{where}: ApplyGuardrail on {resource!r}")
            continue
        for resource in as_list(statement.get("Resource", [])):
            text = sub_text(resource) or ""
            model = FOUNDATION_MODEL_ARN.fullmatch(text)
            if model and model.group("region") == "*":
                condition = json.dumps(statement.get("Condition", {}))
                if "bedrock:InferenceProfileArn" not in condition:
                    problems.append(f"{where}: any-region model ARN without a profile condition")
            elif model:
                in_region_grants += 1
            elif not INFERENCE_PROFILE_ARN.fullmatch(text):
                problems.append(f"{where}: {bedrock} on {resource!r}")
    if not in_region_grants:
        problems.append("no bedrock:InvokeModel grant on the BedrockModelId foundation model")
    return problems


def stream_mapping_problems(template: Template) -> list[str]:
    """The stream mapping retries only failed items, bounded, then parks them in a queue."""
    mappings = stream_mappings(template)
    if not mappings:
        return ["no DynamoDB stream event source"]
    queues = resources(template, "AWS::SQS::Queue")
    problems = []
    for where, props in mappings:
        if "ReportBatchItemFailures" not in props.get("FunctionResponseTypes", []):
            problems.append(f"{where}: FunctionResponseTypes lacks ReportBatchItemFailures")
        if props.get("BisectBatchOnFunctionError") is not True:
            problems.append(f"{where}: BisectBatchOnFunctionError is not true")
        retries = props.get("MaximumRetryAttempts")
        if not isinstance(retries, int) or not 0 <= retries <= MAX_STREAM_RETRIES:
            problems.append(f"{where}: MaximumRetryAttempts {retries!r} not in 0..5")
        age = props.get("MaximumRecordAgeInSeconds")
        if not isinstance(age, int) or not 60 <= age <= 604_800:
            problems.append(f"{where}: MaximumRecordAgeInSeconds {age!r} not set (60..604800)")
        if props.get("StartingPosition") != "TRIM_HORIZON":
            # LATEST skips what is written while the mapping is created or replaced.
            problems.append(f"{where}: StartingPosition {props.get('StartingPosition')!r}")
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if ref_target(destination) not in queues:
            problems.append(f"{where}: on-failure destination {destination!r} is not an SQS queue")
        filters = props.get("FilterCriteria", {}).get("Filters", [])
        if not filters:
            problems.append(f"{where}: no FilterCriteria (REMOVE and skill turns would reach it)")
        for item in filters:  # filters are ORed: every one must hold both rules
            try:
                pattern = json.loads(item["Pattern"])
            except (KeyError, TypeError, ValueError):
                problems.append(f"{where}: unreadable filter {item!r}")
                continue
            if sorted(pattern.get("eventName") or ["?"]) != ["INSERT", "MODIFY"]:
                problems.append(
                    f"{where}: filter {item['Pattern']} must keep INSERT and MODIFY (edits), "
                    "never REMOVE"
                )
            ttl = pattern.get("dynamodb", {}).get("NewImage", {}).get(EXPIRES_AT, {})
            if ttl != {"N": [{"exists": False}]}:
                problems.append(
                    f"{where}: filter {item['Pattern']} lets items with {EXPIRES_AT} "
                    "(the skill's turns) reach the moderation job"
                )
    return problems


def filter_matches(pattern: dict[str, Any], record: Any) -> bool:
    """The subset of Lambda's filter rules the template uses: value lists and exists."""
    for key, rule in pattern.items():
        present = isinstance(record, dict) and key in record
        if isinstance(rule, dict):
            if not filter_matches(rule, record.get(key) if present else None):
                return False
            continue
        for option in rule:
            if isinstance(option, dict) and "exists" in option:
                if option["exists"] == present:
                    break
            elif present and record[key] == option:
                break
        else:
            return False
    return True


def on_failure_queues(template: Template) -> set[str]:
    return {
        target
        for _, props in stream_mappings(template)
        if (
            target := ref_target(
                props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            )
        )
    }


def dlq_alarm_problems(template: Template) -> list[str]:
    """Every on-failure queue has an alarm on its first visible message."""
    watched = set()
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        props = alarm.get("Properties", {})
        if (props.get("Namespace"), props.get("MetricName")) != (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
        ):
            continue
        fires_on_first = (
            props.get("ComparisonOperator") == "GreaterThanThreshold"
            and props.get("Threshold") == 0
        ) or (
            props.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold"
            and props.get("Threshold") == 1
        )
        if not fires_on_first:
            continue
        for dimension in props.get("Dimensions", []):
            if dimension.get("Name") == "QueueName":
                watched.add(ref_target(dimension.get("Value")))
    queues = on_failure_queues(template)
    if not queues:
        return ["no on-failure queue to watch"]
    return [
        f"no alarm on {queue} ApproximateNumberOfMessagesVisible > 0"
        for queue in sorted(queues - watched)
    ]


def runtime_problems(template: Template) -> list[str]:
    """Every function runs Python 3.12 or newer on arm64, with its own explicit role."""
    problems = []
    for name, props in functions(template).items():
        runtime = props.get("Runtime", "")
        match = re.fullmatch(r"python3\.(\d+)", str(runtime))
        if not match or int(match.group(1)) < 12:
            problems.append(f"{name}: runtime {runtime!r} is not python3.12+")
        if props.get("Architectures") != ["arm64"]:
            problems.append(f"{name}: architectures {props.get('Architectures')!r} is not [arm64]")
        if "Role" not in props:
            problems.append(
                f"{name}: no explicit Role (SAM would generate one with managed policies)"
            )
    return problems


def skill_problems(template: Template) -> list[str]:
    """The skill answers within Alexa's 8 s and only its own skill id may invoke it."""
    skills = skill_functions(template)
    if not skills:
        return [f"no function with handler {SKILL_HANDLER}"]
    problems = []
    for name, props in skills.items():
        timeout = props.get("Timeout")
        if not isinstance(timeout, (int, float)) or timeout >= ALEXA_TIMEOUT_S:
            problems.append(f"{name}: Timeout {timeout!r} is not below Alexa's {ALEXA_TIMEOUT_S} s")
        deadline = props.get("Environment", {}).get("Variables", {}).get("PARLEY_MODEL_DEADLINE_S")
        try:
            if isinstance(timeout, (int, float)) and float(deadline) >= timeout:
                problems.append(f"{name}: model deadline {deadline} leaves no time to answer")
        except (TypeError, ValueError):
            problems.append(f"{name}: PARLEY_MODEL_DEADLINE_S {deadline!r} is not a number")
        triggers = 0
        for event_name, event in props.get("Events", {}).items():
            if event.get("Type") == "AlexaSkill":
                triggers += 1
                if not event.get("Properties", {}).get("SkillId"):
                    problems.append(f"{name}/{event_name}: AlexaSkill event without SkillId")
        for perm_name, perm in resources(template, "AWS::Lambda::Permission").items():
            perm_props = perm.get("Properties", {})
            if perm_props.get("Principal") != "alexa-appkit.amazon.com":
                continue
            if function_of(perm_props.get("FunctionName")) == name:
                triggers += 1
            if perm_props.get("EventSourceToken") != {"Ref": "AlexaSkillId"}:
                problems.append(f"{perm_name}: Alexa permission not restricted to AlexaSkillId")
        if not triggers:
            problems.append(f"{name}: no Alexa trigger")
    return problems


def bucket_problems(template: Template) -> list[str]:
    """Buckets: public access blocked, versioned, encrypted, TLS enforced."""
    problems = []
    policies = resources(template, "AWS::S3::BucketPolicy").values()
    for name, bucket in resources(template, "AWS::S3::Bucket").items():
        props = bucket.get("Properties", {})
        block = props.get("PublicAccessBlockConfiguration", {})
        for flag in (
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ):
            if block.get(flag) is not True:
                problems.append(f"{name}: {flag} is not true")
        if props.get("VersioningConfiguration", {}).get("Status") != "Enabled":
            problems.append(f"{name}: versioning not enabled")
        rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        algorithms = {r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules}
        if not algorithms & {"AES256", "aws:kms", "aws:kms:dsse"}:
            problems.append(f"{name}: no default encryption")
        tls = any(
            ref_target(policy["Properties"].get("Bucket")) == name
            and "aws:SecureTransport" in json.dumps(policy["Properties"].get("PolicyDocument"))
            for policy in policies
        )
        if not tls:
            problems.append(f"{name}: no bucket policy denying plain HTTP")
    return problems


def log_problems(template: Template) -> list[str]:
    """Every log group has a retention, and every function logs to one of them."""
    groups = resources(template, "AWS::Logs::LogGroup")
    problems = [
        f"{name}: no RetentionInDays"
        for name, group in groups.items()
        if not group.get("Properties", {}).get("RetentionInDays")
    ]
    for name, props in functions(template).items():
        target = ref_target(props.get("LoggingConfig", {}).get("LogGroup"))
        if target not in groups:
            problems.append(f"{name}: logs to a group this template does not manage (no retention)")
    return problems


def table_problems(template: Template) -> list[str]:
    """Streamed table: Id/timestamp, NEW_AND_OLD_IMAGES, TTL on the skill turns' expires_at."""
    tables = resources(template, "AWS::DynamoDB::Table")
    problems = []
    for where, props in stream_mappings(template):
        name = ref_target(props.get("Stream"))
        table = tables.get(name or "", {}).get("Properties", {})
        view = table.get("StreamSpecification", {}).get("StreamViewType")
        if view != "NEW_AND_OLD_IMAGES":
            problems.append(
                f"{where}: table {name} stream view type {view!r}, not NEW_AND_OLD_IMAGES "
                "(an edit of another attribute would cost a model call)"
            )
        ttl = table.get("TimeToLiveSpecification", {})
        if ttl != {"AttributeName": EXPIRES_AT, "Enabled": True}:
            problems.append(f"{where}: table {name} has no TTL on {EXPIRES_AT} (skill turns kept)")
        keys = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", [])}
        if keys != {"Id": "HASH", "timestamp": "RANGE"}:
            problems.append(f"{where}: table {name} keys {keys} are not Id/timestamp")
    return problems


def review_problems(template: Template) -> list[str]:
    """Review app: optional, signs in through a Cognito pool with MFA, writes only its
    decisions table."""
    fns = {n: p for n, p in functions(template).items() if p.get("Handler") == REVIEW_HANDLER}
    if len(fns) != 1:
        return [f"expected one function with handler {REVIEW_HANDLER}, found {len(fns)}"]
    [(name, props)] = fns.items()
    res = template.get("Resources", {})
    problems = [
        f"{other}: review resource without Condition ReviewEnabled"
        for other, body in res.items()
        if other.startswith("Review") and body.get("Condition") != "ReviewEnabled"
    ]
    for event_name, event in props.get("Events", {}).items():
        event_props = event.get("Properties", {})
        if event.get("Type") == "Schedule":  # the queue-age metrics (review/queues.py)
            continue
        if event.get("Type") != "HttpApi" or ref_target(event_props.get("ApiId")) is None:
            problems.append(f"{name}/{event_name}: not a route of the reviewers' HTTP API")
    # The app signs reviewers in itself: OIDC (code flow, PKCE) against a pool with MFA on.
    pools = resources(template, "AWS::Cognito::UserPool")
    if not pools or any(
        p.get("Properties", {}).get("MfaConfiguration") != "ON" for p in pools.values()
    ):
        problems.append("reviewers' user pool without MfaConfiguration ON")
    if not resources(template, "AWS::Cognito::UserPoolDomain"):
        problems.append("reviewers' user pool has no hosted domain to sign in on")
    for client_name, client in resources(template, "AWS::Cognito::UserPoolClient").items():
        cp = client.get("Properties", {})
        if cp.get("AllowedOAuthFlows") != ["code"] or not cp.get("CallbackURLs"):
            problems.append(f"{client_name}: not a code-flow client with a callback URL")
    env = props.get("Environment", {}).get("Variables", {})
    for needed in ("ISSUER", "CLIENT_ID", "REDIRECT_URI"):
        if f"PARLEY_REVIEW_OIDC_{needed}" not in env:
            problems.append(f"{name}: PARLEY_REVIEW_OIDC_{needed} not set")
    role = ref_target(props.get("Role")) or ""
    decisions = {"Fn::GetAtt": ["ReviewDecisionsTable", "Arn"]}
    # A decision also lowers or confirms the conversation's flag (pipeline/risk.py).
    writable = [decisions, {"Fn::GetAtt": ["RiskTable", "Arn"]}]
    for where, statement in policy_statements(template):
        if not where.startswith(f"{role}/") or statement.get("Effect") != "Allow":
            continue
        actions = {a for arm in branches(statement.get("Action", [])) for a in as_list(arm)}
        targets = [r for arm in branches(statement.get("Resource", [])) for r in as_list(arm)]
        # The one write allowed on verdicts: moving one out of the queue index, and only
        # that attribute (an IAM condition on the attributes an update names).
        queue_only = actions == {"dynamodb:UpdateItem"} and set(
            statement.get("Condition", {})
            .get("ForAllValues:StringEquals", {})
            .get("dynamodb:Attributes", ["*"])
        ) <= {"pk", "sk", "review_queue"}
        if actions & DYNAMODB_WRITES and any(t not in writable for t in targets) and not queue_only:
            problems.append(f"{where}: writes outside the decisions and risk tables")
    alarms = [
        a
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if "FlagsOverturned" in json.dumps(a.get("Properties", {}).get("Metrics", []))
    ]
    if not alarms:
        problems.append("no alarm on the review overturn rate (FlagsOverturned)")
    return problems


def snapstart_problems(template: Template) -> list[str]:
    """Every Python function has SnapStart on a published alias, and its triggers use it.

    SnapStart applies to published versions only: a trigger of the unqualified function
    runs $LATEST, without the snapshot. SAM points the events declared on a function
    with AutoPublishAlias at that alias; explicit permissions, mappings and the skill's
    endpoint output must name it themselves (`!Ref <Function>.Alias`).
    """
    problems = []
    python = {
        name
        for name, props in functions(template).items()
        if str(props.get("Runtime", "")).startswith("python")
    }
    if not python:
        return ["no Python function"]
    for name in sorted(python):
        props = functions(template)[name]
        if props.get("SnapStart") != {"ApplyOn": "PublishedVersions"}:
            problems.append(f"{name}: SnapStart is not ApplyOn PublishedVersions")
        if not props.get("AutoPublishAlias"):
            problems.append(f"{name}: no AutoPublishAlias (SnapStart serves published versions)")
    res = template.get("Resources", {})
    for where, body in res.items():
        if body.get("Type") not in ("AWS::Lambda::Permission", "AWS::Lambda::EventSourceMapping"):
            continue
        target = body.get("Properties", {}).get("FunctionName")
        if ref_target(target) in python:  # the function itself, not its alias
            problems.append(f"{where}: invokes {ref_target(target)} unqualified, not its alias")
    for where, output in template.get("Outputs", {}).items():
        if where.endswith("Arn") and ref_target(output.get("Value")) in python:  # the alias
            problems.append(f"{where}: gives the unqualified function ($LATEST), not its alias")
    return problems


STREAM_RETENTION_S = 86_400  # DynamoDB Streams keeps records 24 hours
ASSUMED_SHARDS = 8  # a busy on-demand table; the defaults must not throttle it


def _parameter_default(template: Template, value: Any) -> Any:
    name = ref_target(value)
    return template.get("Parameters", {}).get(name, {}).get("Default") if name else value


def condition_by_default(template: Template, name: str) -> bool:
    """A condition's value when every parameter keeps its default."""

    def value(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return str(_parameter_default(template, node))
            if key == "Condition":
                return condition_by_default(template, arg)
            if key == "Fn::Not":
                return not value(arg[0])
            if key == "Fn::Equals":
                return str(value(arg[0])) == str(value(arg[1]))
            if key == "Fn::And":
                return all(value(a) for a in arg)
            if key == "Fn::Or":
                return any(value(a) for a in arg)
        return node

    return bool(value(template["Conditions"][name]))


def by_default(template: Template, node: Any) -> Any:
    """A property's value with default parameters: Fn::If resolved, Ref to its default."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        condition, when_true, when_false = node["Fn::If"]
        return by_default(
            template, when_true if condition_by_default(template, condition) else when_false
        )
    return None if node == NO_VALUE else _parameter_default(template, node)


def redrive_problems(template: Template) -> list[str]:
    """The on-failure queue keeps pointers no longer than the stream keeps the records."""
    problems = []
    queues = resources(template, "AWS::SQS::Queue")
    for queue in sorted(on_failure_queues(template)):
        retention = (
            queues.get(queue, {}).get("Properties", {}).get("MessageRetentionPeriod", 345_600)
        )
        if not isinstance(retention, int) or retention > STREAM_RETENTION_S:
            problems.append(
                f"{queue}: keeps pointers {retention!r} s, the stream keeps records "
                f"{STREAM_RETENTION_S} s: a pointer older than that cannot be redriven"
            )
    return problems


def concurrency_problems(template: Template) -> list[str]:
    """Defaults that do not throttle the mapping on a many-shard table; a bounded, grouped
    pacing parameter read as a number."""
    problems = []
    params = template.get("Parameters", {})
    for where, props in stream_mappings(template):
        function = functions(template)[where.split("/")[0]]
        factor = int(_parameter_default(template, props.get("ParallelizationFactor", 1)))
        reserved = by_default(template, function.get("ReservedConcurrentExecutions"))
        needed = ASSUMED_SHARDS * factor
        if reserved is not None and int(reserved) < needed:  # None: nothing reserved, no cap
            problems.append(
                f"{where}: by default {reserved} reserved for {needed} concurrent batches "
                f"({ASSUMED_SHARDS} shards x ParallelizationFactor {factor}): throttled"
            )
    pacing = params.get("ModelRequestsPerMinutePerInvocation")
    if pacing is None:
        return [*problems, "no ModelRequestsPerMinutePerInvocation parameter"]
    if "MinValue" not in pacing or "MaxValue" not in pacing:
        problems.append("ModelRequestsPerMinutePerInvocation has no MinValue/MaxValue")
    grouped = {
        name
        for group in template.get("Metadata", {})
        .get("AWS::CloudFormation::Interface", {})
        .get("ParameterGroups", [])
        for name in group.get("Parameters", [])
    }
    problems += [f"{name}: in no parameter group" for name in sorted(set(params) - grouped)]
    numbers = {name for name, p in params.items() if p.get("Type") == "Number"}
    for name, condition in template.get("Conditions", {}).items():
        text = json.dumps(condition)
        for number in numbers:  # "0" vs "0.0": a Number compared as text is not a number
            if f'{{"Ref": "{number}"}}' in text and "Fn::Equals" in text:
                problems.append(f"condition {name} compares the Number {number} as text")
    return problems


READ_ACTIONS = {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:BatchGetItem"}
SKILL_KEYS = {"dynamodb:LeadingKeys": ["skill#*"]}


def history_access_problems(template: Template) -> list[str]:
    """Only the skill reads the "skill#" partitions (a child's turns) of the conversations
    table: its role is limited to them, every other reader's role excludes them."""
    problems = []
    skill_roles = {ref_target(props.get("Role")) for props in skill_functions(template).values()}
    readers = 0
    for where, statement in policy_statements(template):
        resource = as_list(statement.get("Resource"))
        on_table = any(ref_target(r) == "ConversationsTable" and "StreamArn" not in json.dumps(r)
                       for r in resource)  # fmt: skip
        reads = READ_ACTIONS & set(as_list(statement.get("Action")))
        if statement.get("Effect") != "Allow" or not on_table or not reads:
            continue
        readers += 1
        condition = statement.get("Condition", {})
        operator = (
            "ForAllValues:StringLike"
            if where.split("/")[0] in skill_roles
            else "ForAllValues:StringNotLike"
        )
        if condition.get(operator) != SKILL_KEYS:
            problems.append(f"{where}: reads the conversations table without {operator} skill#*")
    return problems if readers else ["no role reads the conversations table"]


def secret_problems(template: Template) -> list[str]:
    """No secret value in an environment variable: functions read secrets at start."""
    problems = []
    for name, props in functions(template).items():
        for key, value in props.get("Environment", {}).get("Variables", {}).items():
            if "resolve:secretsmanager" in json.dumps(value):
                problems.append(f"{name}: {key} holds a secret's value, not its id")
    return problems


def alarm_problems(template: Template) -> list[str]:
    """Errors and throttles of every function, the skill's latency and every API's 5xx
    alarm, and every alarm notifies when it fires and when it clears."""
    problems = []
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    watched: set[tuple[str, str | None]] = set()
    for name, alarm in alarms.items():
        props = alarm.get("Properties", {})
        for key in ("AlarmActions", "OKActions"):
            if not props.get(key):
                problems.append(f"{name}: no {key}")
        for dimension in props.get("Dimensions", []):
            watched.add((props.get("MetricName"), ref_target(dimension.get("Value"))))
    for function in functions(template):
        for metric in ("Errors", "Throttles"):
            if (metric, function) not in watched:
                problems.append(f"{function}: no {metric} alarm")
    for function in skill_functions(template):
        if ("Duration", function) not in watched:
            problems.append(f"{function}: no latency (Duration) alarm")
    metric_names = {m for m, _ in watched}
    if resources(template, "AWS::ApiGateway::RestApi") and "5XXError" not in metric_names:
        problems.append("the REST API has no 5XXError alarm")
    for api in resources(template, "AWS::Serverless::HttpApi"):
        if ("5xx", api) not in watched:
            problems.append(f"{api}: no 5xx alarm")
    return problems


def access_log_problems(template: Template) -> list[str]:
    """Both APIs write access logs to a log group of the stack."""
    problems = []
    for name in resources(template, "AWS::ApiGateway::Stage"):
        props = template["Resources"][name]["Properties"]
        if not props.get("AccessLogSetting", {}).get("DestinationArn"):
            problems.append(f"{name}: no AccessLogSetting")
    for name in resources(template, "AWS::Serverless::HttpApi"):
        props = template["Resources"][name]["Properties"]
        if not props.get("AccessLogSettings", {}).get("DestinationArn"):
            problems.append(f"{name}: no AccessLogSettings")
    return problems


def bundle_problems(template: Template) -> list[str]:
    """One bundle per function (build/lambda/<function>), never a shared CodeUri."""
    uris: dict[str, list[str]] = {}
    for name, props in functions(template).items():
        uri = props.get("CodeUri")
        if not isinstance(uri, str) or not uri.startswith("build/lambda/"):
            return [f"{name}: CodeUri {uri!r} is not its own bundle under build/lambda/"]
        uris.setdefault(uri, []).append(name)
    return [f"{uri}: shared by {names}" for uri, names in uris.items() if len(names) > 1]


RULES: dict[str, Callable[[Template], list[str]]] = {
    "wildcards": wildcard_statements,
    "bedrock": bedrock_problems,
    "stream mapping": stream_mapping_problems,
    "dlq alarm": dlq_alarm_problems,
    "runtime": runtime_problems,
    "skill": skill_problems,
    "buckets": bucket_problems,
    "logs": log_problems,
    "tables": table_problems,
    "review": review_problems,
    "snapstart": snapstart_problems,
    "redrive": redrive_problems,
    "concurrency": concurrency_problems,
    "history access": history_access_problems,
    "secrets": secret_problems,
    "alarms": alarm_problems,
    "access logs": access_log_problems,
    "bundles": bundle_problems,
}


# -- the real template -------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template()


@pytest.mark.parametrize("rule", sorted(RULES))
def test_template_follows_rule(template: Template, rule: str) -> None:
    assert RULES[rule](template) == []


def test_loader_expands_short_tags(template: Template) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["PARLEY_REGION"] == {"Ref": "AWS::Region"}
    assert env["PARLEY_MODEL"]["Fn::If"][0] == "UseInferenceProfile"
    role = template["Resources"]["ModerationFunction"]["Properties"]["Role"]
    assert role == {"Fn::GetAtt": ["ModerationRole", "Arn"]}


def test_handlers_and_stream_event_source(template: Template) -> None:
    fns = functions(template)
    handlers = {STREAM_HANDLER, SKILL_HANDLER, REVIEW_HANDLER, QUIET_HANDLER}
    assert {p["Handler"] for p in fns.values()} == handlers
    [(where, props)] = stream_mappings(template)
    assert where.startswith("ModerationFunction/")
    assert props["BatchSize"] == {"Ref": "StreamBatchSize"}
    assert props["ParallelizationFactor"] == {"Ref": "ParallelizationFactor"}
    assert props["MaximumBatchingWindowInSeconds"] == {"Ref": "StreamBatchWindowSeconds"}
    moderation = fns["ModerationFunction"]
    assert moderation["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, NO_VALUE]
    }


def test_functions_get_the_settings_they_read(template: Template) -> None:
    from pipeline.settings import Settings
    from review.wiring import ReviewSettings

    known = {f"PARLEY_{name.upper()}" for name in Settings.model_fields}
    known |= {f"PARLEY_REVIEW_{name.upper()}" for name in ReviewSettings.model_fields}
    fns = functions(template)
    for name, props in fns.items():
        names = set(props["Environment"]["Variables"])
        unknown = {n for n in names if n.startswith("PARLEY_")} - known
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"
    stream_env = set(fns["ModerationFunction"]["Environment"]["Variables"])
    assert {
        "PARLEY_MODEL",
        "PARLEY_PROMPT",
        "PARLEY_SHADOW_PROMPT",
        "PARLEY_HISTORY",
        "PARLEY_PROMPTS",
        "PARLEY_VERDICTS_TABLE",
        "PARLEY_EVENT_BUS",
        "PARLEY_REGION",
        "PARLEY_MAX_CONCURRENCY",
        "PARLEY_MIN_REMAINING_MS",
        "PARLEY_STREAM_MAX_JUDGEMENTS_PER_CONVERSATION",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    } <= stream_env
    skill_env = set(fns["SkillFunction"]["Environment"]["Variables"])
    assert {
        "PARLEY_MODEL",
        "PARLEY_SKILL_MODEL",
        "PARLEY_COMPANION_PROMPT",
        "PARLEY_HISTORY",
        "PARLEY_PROMPTS",
        "PARLEY_MODEL_DEADLINE_S",
        "PARLEY_SKILL_ID",
        "PARLEY_REGION",
    } <= skill_env
    skill_vars = fns["SkillFunction"]["Environment"]["Variables"]
    assert skill_vars["PARLEY_MODEL_DEADLINE_S"] == "5.0"
    # The skill calls the model its role may invoke, not the prompt's default model.
    assert skill_vars["PARLEY_SKILL_MODEL"] == skill_vars["PARLEY_MODEL"]


def test_stream_filter_admits_marketplace_messages_and_edits_only(template: Template) -> None:
    # GIVEN the mapping's filter and real-shaped records (the SAM sample's shape)
    from tests.conftest import load_fixture

    (item,) = _stream_event(template)["FilterCriteria"]["Filters"]
    pattern = json.loads(item["Pattern"])
    insert, _, edit, remove = load_fixture("streams/marketplace-insert-modify-remove.json")[
        "Records"
    ]
    skill_turn = copy.deepcopy(insert)
    skill_turn["dynamodb"]["NewImage"]["Id"] = {"S": "skill#amzn1.echo-api.session.1"}
    skill_turn["dynamodb"]["NewImage"][EXPIRES_AT] = {"N": "1764500000"}
    # THEN new messages and edits reach the job; deletions and the skill's turns do not
    assert filter_matches(pattern, insert) and filter_matches(pattern, edit)
    assert not filter_matches(pattern, remove)
    assert not filter_matches(pattern, skill_turn)


def test_skill_reaches_only_its_own_history(template: Template) -> None:
    statements = dict(policy_statements(template))
    history = statements["SkillRole/skill/SkillHistoryOnly"]
    # DeleteItem: a session's turns are deleted when it ends (docs/skill.md).
    assert sorted(history["Action"]) == [
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
    ]
    assert history["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["skill#*"]}
    }


def test_message_api_escapes_user_text(template: Template) -> None:
    method = template["Resources"]["PostMessageMethod"]["Properties"]
    assert method["AuthorizationType"] == "AWS_IAM"
    request = method["Integration"]["RequestTemplates"]["application/json"]["Fn::Sub"]
    assert (
        "$util.escapeJavaScript($input.path('$.message')).replaceAll(\"\\\\'\", \"'\")" in request
    )
    assert "$input.params('id')).replaceAll(" in request
    assert "$context.requestTimeEpoch" in request
    schema = template["Resources"]["MessageModel"]["Properties"]["Schema"]
    assert schema["properties"]["message"]["maxLength"] == 4000
    assert schema["properties"]["sender"]["enum"] == ["buyer", "seller"]
    validator = template["Resources"]["MessageValidator"]["Properties"]
    assert validator["ValidateRequestBody"] is True
    assert validator["ValidateRequestParameters"] is True
    api_role = dict(policy_statements(template))["MessageApiRole/put-message/PutMessage"]
    assert api_role["Action"] == "dynamodb:PutItem"
    assert api_role["Resource"] == {"Fn::GetAtt": ["ConversationsTable", "Arn"]}


# -- careless edits are caught ----------------------------------------------------------


def _statements_of(t: Template, role: str) -> list[Any]:
    return t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def _stream_event(t: Template) -> dict[str, Any]:
    events = t["Resources"]["ModerationFunction"]["Properties"]["Events"]
    return events["ConversationsStream"]["Properties"]


def _set(path: list[Any], value: Any) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        node: Any = t
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _delete(path: list[Any]) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        node: Any = t
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _add_statement(role: str, statement: dict[str, Any]) -> Callable[[Template], None]:
    return lambda t: _statements_of(t, role).append(statement)


def _grant(role: str, action: Any, resource: Any) -> Callable[[Template], None]:
    return _add_statement(role, {"Effect": "Allow", "Action": action, "Resource": resource})


R = ["Resources"]
MODERATION = [*R, "ModerationFunction", "Properties"]
STREAM = [*MODERATION, "Events", "ConversationsStream", "Properties"]
SKILL = [*R, "SkillFunction", "Properties"]
BUCKET = [*R, "PromptsBucket", "Properties"]
VERDICTS_ARN = {"Fn::GetAtt": ["VerdictsTable", "Arn"]}
ALL_TABLES = {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"}
ANY_MODEL = {"Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/*"}
TITAN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-lite-v1"
ANY_REGION_MODEL = {
    "Fn::Sub": "arn:${AWS::Partition}:bedrock:*::foundation-model/${BedrockModelId}"
}
EVERY_KEY = '{"dynamodb": {"Keys": {"Id": {"S": [{"exists": true}]}}}}'
FILTER = {
    "eventName": ["INSERT", "MODIFY"],
    "dynamodb": {"NewImage": {EXPIRES_AT: {"N": [{"exists": False}]}}},
}

CARELESS_EDITS: dict[str, tuple[Callable[[Template], None], str]] = {
    "snapstart off on the skill": (_delete([*SKILL, "SnapStart"]), "snapstart"),
    "review snapstart set to ApplyOn None": (
        _set([*R, "ReviewFunction", "Properties", "SnapStart"], {"ApplyOn": "None"}),
        "snapstart",
    ),
    "no published alias": (_delete([*MODERATION, "AutoPublishAlias"]), "snapstart"),
    "alexa permission on the unqualified function": (
        _set(
            [*R, "SkillInvokePermission", "Properties", "FunctionName"],
            {"Fn::GetAtt": ["SkillFunction", "Arn"]},
        ),
        "snapstart",
    ),
    "skill endpoint output on $LATEST": (
        _set(["Outputs", "SkillEndpointArn", "Value"], {"Fn::GetAtt": ["SkillFunction", "Arn"]}),
        "snapstart",
    ),
    "explicit stream mapping on the unqualified function": (
        _set(
            [*R, "ExtraMapping"],
            {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"FunctionName": {"Ref": "ModerationFunction"}},
            },
        ),
        "snapstart",
    ),
    "star action": (_grant("ModerationRole", "*", VERDICTS_ARN), "wildcards"),
    "service wildcard action": (_grant("SkillRole", ["dynamodb:*"], VERDICTS_ARN), "wildcards"),
    "partial wildcard action": (
        _grant("ModerationRole", "dynamodb:Get*", VERDICTS_ARN),
        "wildcards",
    ),
    "star resource": (_grant("ModerationRole", "dynamodb:Query", "*"), "wildcards"),
    "all tables resource": (_grant("ModerationRole", "dynamodb:Query", ALL_TABLES), "wildcards"),
    "star resource hidden in a condition": (
        _add_statement(
            "ModerationRole",
            {
                "Fn::If": [
                    "TracingEnabled",
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                    NO_VALUE,
                ]
            },
        ),
        "wildcards",
    ),
    "not action": (
        _add_statement("SkillRole", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        "wildcards",
    ),
    "sam policy template": (
        _set([*MODERATION, "Policies"], [{"DynamoDBCrudPolicy": {"TableName": "t"}}]),
        "wildcards",
    ),
    "any foundation model": (_grant("ModerationRole", "bedrock:InvokeModel", ANY_MODEL), "bedrock"),
    "hard-coded model": (_grant("SkillRole", "bedrock:InvokeModel", TITAN), "bedrock"),
    "any-region model without profile condition": (
        _grant("SkillRole", "bedrock:InvokeModel", ANY_REGION_MODEL),
        "bedrock",
    ),
    "no retry bound": (_set([*STREAM, "MaximumRetryAttempts"], -1), "stream mapping"),
    "too many retries": (_set([*STREAM, "MaximumRetryAttempts"], 10), "stream mapping"),
    "no bisect": (_delete([*STREAM, "BisectBatchOnFunctionError"]), "stream mapping"),
    "whole-batch retries": (_delete([*STREAM, "FunctionResponseTypes"]), "stream mapping"),
    "records never expire": (_set([*STREAM, "MaximumRecordAgeInSeconds"], -1), "stream mapping"),
    "no on-failure destination": (_delete([*STREAM, "DestinationConfig"]), "stream mapping"),
    "no event filter": (_delete([*STREAM, "FilterCriteria"]), "stream mapping"),
    "filter lets REMOVE in": (
        _set(
            [*STREAM, "FilterCriteria", "Filters"],
            [{"Pattern": json.dumps({**FILTER, "eventName": ["INSERT", "MODIFY", "REMOVE"]})}],
        ),
        "stream mapping",
    ),
    "filter drops edits": (
        _set(
            [*STREAM, "FilterCriteria", "Filters"],
            [{"Pattern": json.dumps({**FILTER, "eventName": ["INSERT"]})}],
        ),
        "stream mapping",
    ),
    "filter lets skill turns in": (
        _set(
            [*STREAM, "FilterCriteria", "Filters"],
            [{"Pattern": '{"eventName": ["INSERT", "MODIFY"]}'}],
        ),
        "stream mapping",
    ),
    "new-image-only stream": (
        _set(
            [*R, "ConversationsTable", "Properties", "StreamSpecification", "StreamViewType"],
            "NEW_IMAGE",
        ),
        "tables",
    ),
    "no ttl": (
        _delete([*R, "ConversationsTable", "Properties", "TimeToLiveSpecification"]),
        "tables",
    ),
    "ttl on another attribute": (
        _set(
            [*R, "ConversationsTable", "Properties", "TimeToLiveSpecification", "AttributeName"],
            "ttl",
        ),
        "tables",
    ),
    "second filter matching everything": (
        lambda t: _stream_event(t)["FilterCriteria"]["Filters"].append({"Pattern": EVERY_KEY}),
        "stream mapping",
    ),
    "dlq alarm removed": (_delete([*R, "StreamDLQAlarm"]), "dlq alarm"),
    "dlq alarm on the wrong metric": (
        _set([*R, "StreamDLQAlarm", "Properties", "MetricName"], "NumberOfMessagesSent"),
        "dlq alarm",
    ),
    "old runtime in globals": (
        lambda t: (
            _delete([*MODERATION, "Runtime"])(t),
            _set(["Globals", "Function", "Runtime"], "python3.9")(t),
        ),
        "runtime",
    ),
    "x86 function": (_set([*SKILL, "Architectures"], ["x86_64"]), "runtime"),
    "generated role": (_delete([*SKILL, "Role"]), "runtime"),
    "skill timeout too long": (_set([*SKILL, "Timeout"], 10), "skill"),
    "model deadline beyond timeout": (
        _set([*SKILL, "Environment", "Variables", "PARLEY_MODEL_DEADLINE_S"], "7.5"),
        "skill",
    ),
    "alexa permission for any skill": (
        _delete([*R, "SkillInvokePermission", "Properties", "EventSourceToken"]),
        "skill",
    ),
    "alexa event without skill id": (
        lambda t: (
            _delete([*R, "SkillInvokePermission"])(t),
            _set([*SKILL, "Events"], {"Alexa": {"Type": "AlexaSkill", "Properties": {}}})(t),
        ),
        "skill",
    ),
    "public bucket": (
        _set([*BUCKET, "PublicAccessBlockConfiguration", "RestrictPublicBuckets"], False),
        "buckets",
    ),
    "unversioned bucket": (
        _set([*BUCKET, "VersioningConfiguration", "Status"], "Suspended"),
        "buckets",
    ),
    "unencrypted bucket": (_delete([*BUCKET, "BucketEncryption"]), "buckets"),
    "plain http allowed": (_delete([*R, "PromptsBucketPolicy"]), "buckets"),
    "logs kept forever": (_delete([*R, "SkillLogGroup", "Properties", "RetentionInDays"]), "logs"),
    "function logs to an unmanaged group": (_delete([*MODERATION, "LoggingConfig"]), "logs"),
    "review pool with optional mfa": (
        _set([*R, "ReviewUserPool", "Properties", "MfaConfiguration"], "OPTIONAL"),
        "review",
    ),
    "review pool without a sign-in domain": (_delete([*R, "ReviewUserPoolDomain"]), "review"),
    "review app without its oidc client": (
        _delete(
            [
                *R,
                "ReviewFunction",
                "Properties",
                "Environment",
                "Variables",
                "PARLEY_REVIEW_OIDC_CLIENT_ID",
            ]
        ),
        "review",
    ),
    "review writes verdicts": (
        _grant("ReviewRole", "dynamodb:UpdateItem", VERDICTS_ARN),
        "review",
    ),
    "review table always deployed": (_delete([*R, "ReviewDecisionsTable", "Condition"]), "review"),
    "overturn alarm removed": (_delete([*R, "ReviewOverturnRateAlarm"]), "review"),
    "stream from LATEST": (_set([*STREAM, "StartingPosition"], "LATEST"), "stream mapping"),
    "pointers kept 14 days": (
        _set([*R, "StreamDLQ", "Properties", "MessageRetentionPeriod"], 1_209_600),
        "redrive",
    ),
    "reserved 4 by default": (
        _set([*MODERATION, "ReservedConcurrentExecutions"], {"Ref": "ParallelizationFactor"}),
        "concurrency",
    ),
    "pacing parameter ungrouped and unbounded": (
        _delete(["Parameters", "ModelRequestsPerMinutePerInvocation", "MaxValue"]),
        "concurrency",
    ),
    "number compared as text": (
        _set(
            ["Conditions", "HasModelPacing"],
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "ModelRequestsPerMinutePerInvocation"}, "0"]}]},
        ),
        "concurrency",
    ),
    "moderation reads skill turns": (
        _delete(
            [
                *R,
                "ModerationRole",
                "Properties",
                "Policies",
                0,
                "PolicyDocument",
                "Statement",
                3,
                "Condition",
            ]
        ),
        "history access",
    ),
    "review reads skill turns": (
        _grant("ReviewRole", "dynamodb:Query", {"Fn::GetAtt": ["ConversationsTable", "Arn"]}),
        "history access",
    ),
    "secret value in the environment": (
        _set(
            [
                *R,
                "ReviewFunction",
                "Properties",
                "Environment",
                "Variables",
                "PARLEY_REVIEW_SECRET",
            ],
            {"Fn::Sub": "{{resolve:secretsmanager:${ReviewSecret}:SecretString}}"},
        ),
        "secrets",
    ),
    "alarm without ok actions": (
        _delete([*R, "ModelThrottlesAlarm", "Properties", "OKActions"]),
        "alarms",
    ),
    "no skill latency alarm": (_delete([*R, "SkillLatencyAlarm"]), "alarms"),
    "no review 5xx alarm": (_delete([*R, "ReviewApi5xxAlarm"]), "alarms"),
    "no throttles alarm on moderation": (_delete([*R, "ModerationThrottlesAlarm"]), "alarms"),
    "message api without access log": (
        _delete([*R, "MessageApiStage", "Properties", "AccessLogSetting"]),
        "access logs",
    ),
    "review api without access log": (
        _delete([*R, "ReviewHttpApi", "Properties", "AccessLogSettings"]),
        "access logs",
    ),
    "one bundle for two functions": (
        _set([*SKILL, "CodeUri"], "build/lambda/moderation"),
        "bundles",
    ),
    "moderation output on $LATEST": (
        _set(
            ["Outputs", "ModerationFunctionArn", "Value"],
            {"Fn::GetAtt": ["ModerationFunction", "Arn"]},
        ),
        "snapstart",
    ),
    "keys-only stream": (
        _set(
            [*R, "ConversationsTable", "Properties", "StreamSpecification", "StreamViewType"],
            "KEYS_ONLY",
        ),
        "tables",
    ),
}


@pytest.mark.parametrize("edit", sorted(CARELESS_EDITS))
def test_careless_edit_is_caught(template: Template, edit: str) -> None:
    mutate, rule = CARELESS_EDITS[edit]
    edited = copy.deepcopy(template)
    mutate(edited)
    assert RULES[rule](edited), f"rule {rule!r} missed the edit {edit!r}"
    assert RULES[rule](template) == []  # the original is untouched


def test_documented_star_resources_are_the_only_ones(template: Template) -> None:
    star = [
        (where, statement["Action"])
        for where, statement in policy_statements(template)
        if "*" in as_list(statement.get("Resource"))
    ]
    assert star, "expected the conditional X-Ray statements"
    for where, actions in star:
        assert set(as_list(actions)) <= set(RESOURCE_STAR_ALLOWED), where


# -- cfn-lint ------------------------------------------------------------------------------


def test_cfn_lint_reports_no_errors() -> None:
    api = pytest.importorskip(
        "cfnlint.api", reason="cfn-lint is not installed (pip install cfn-lint)"
    )
    matches = api.lint_file(TEMPLATE_PATH)
    errors = [m for m in matches if m.rule.id.startswith("E")]
    assert not errors, "\n".join(str(m) for m in errors)
    # A warning that is right to accept is silenced in the template itself (Metadata
    # cfn-lint ignore_checks on the resource) next to a comment that says why.
    warnings = [m for m in matches if m.rule.id.startswith("W")]
    assert not warnings, "\n".join(str(m) for m in warnings)


def test_cfn_lint_catches_a_broken_copy(tmp_path: Path) -> None:
    api = pytest.importorskip(
        "cfnlint.api", reason="cfn-lint is not installed (pip install cfn-lint)"
    )
    broken = TEMPLATE_PATH.read_text(encoding="utf-8").replace(
        "ReservedConcurrentExecutions: !If", "ReservedConcurrentExecution: !If"
    )
    copy_path = tmp_path / "template.yaml"
    copy_path.write_text(broken, encoding="utf-8")
    assert any(m.rule.id.startswith("E") for m in api.lint_file(copy_path))


def test_lambda_bundle_lists_every_runtime_dependency_it_needs() -> None:
    """A dependency added to pyproject must reach the Lambda group, or be left out on purpose."""
    import tomllib

    from packaging.requirements import Requirement

    repo = TEMPLATE_PATH.parent
    text = (repo / "pyproject.toml").read_text()
    pyproject = tomllib.loads(text)
    runtime = {Requirement(d).name.lower() for d in pyproject["project"]["dependencies"]}
    group = {Requirement(d).name.lower() for d in pyproject["dependency-groups"]["lambda"]}
    left_out = {"certifi", "click", "numpy", "jsonschema", "py3langid"}
    assert runtime - group == left_out
    reasons = text.split("[dependency-groups]")[1].split("lambda = [")[0]
    for name in left_out:
        assert f"#   {name}" in reasons, f"{name} left out without a reason"
    review = {
        Requirement(d).name.lower() for d in pyproject["project"]["optional-dependencies"]["review"]
    }
    assert review - group == {"uvicorn"}  # the local server only


def test_skill_may_stream_its_answers(template: Template) -> None:
    # ConverseStream is authorised by InvokeModelWithResponseStream on the same model.
    grants = 0
    for where, statement in policy_statements(template):
        actions = [a for arm in branches(statement.get("Action", [])) for a in as_list(arm)]
        if where.startswith("SkillRole/") and "bedrock:InvokeModel" in actions:
            assert "bedrock:InvokeModelWithResponseStream" in actions, where
            grants += 1
    assert grants == 3  # the foundation model, its profile, the model through the profile


def test_lambda_requirements_are_exported_from_the_lock_with_hashes() -> None:
    import re
    import shutil
    import subprocess
    import sys

    repo = TEMPLATE_PATH.parent
    text = (repo / "lambda-requirements.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==\S+ \\$", text, flags=re.M)
    assert "boto3" in pins and "starlette" in pins
    blocks = re.split(r"^(?=[A-Za-z0-9_.-]+==)", text, flags=re.M)[1:]
    assert all("--hash=sha256:" in block for block in blocks)  # pip --require-hashes
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        pytest.skip("uv is not installed: cannot re-export the lock")
    exported = subprocess.run(
        [uv, "export", "--only-group", "lambda", "--no-emit-project", "--format",
         "requirements-txt", "--quiet", "--frozen"],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def body(requirements: str) -> list[str]:  # the header names the command: not compared
        return [line for line in requirements.splitlines() if not line.startswith("#")]

    assert body(exported) == body(text), "stale: run `make lambda-requirements`"


def test_the_quiet_worker_consumes_the_wake_ups_the_stream_job_sends(template: Template) -> None:
    fns = functions(template)
    worker = fns["QuietWorkerFunction"]
    [event] = worker["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["WakeUpQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    env = fns["ModerationFunction"]["Environment"]["Variables"]
    assert env["PARLEY_QUIET_QUEUE_URL"]["Fn::If"][1] == {"Ref": "WakeUpQueue"}
    queue = template["Resources"]["WakeUpQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]


def test_every_function_that_publishes_verdicts_keeps_the_risk_state(template: Template) -> None:
    # A function that stores verdicts without the risk table judges each window on its
    # own, and a clean window after a flag would be published as cleared.
    publishers = {
        name: fn["Environment"]["Variables"]
        for name, fn in functions(template).items()
        if "PARLEY_VERDICTS_TABLE" in fn.get("Environment", {}).get("Variables", {})
        and name != "ReviewFunction"  # the review app stores decisions, not verdicts
    }
    assert {"ModerationFunction", "QuietWorkerFunction"} <= set(publishers)
    for name, env in publishers.items():
        assert env.get("PARLEY_RISK_TABLE") == {"Ref": "RiskTable"}, name
