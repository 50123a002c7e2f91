"""The shim layer's call log: each request boto3 sends (over HTTP, signed as the
Terraform provider's SDK signs) is recorded as the IAM action it needs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from werkzeug.serving import make_server

from rehearsal.call_log import ENV_VAR, Call, read, report
from rehearsal.shims import EmulatorShims


def answer_empty(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Stands in for the emulator: 200 with an empty JSON object to everything."""
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b"{}"]


@pytest.fixture
def logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(ENV_VAR, str(log))
    server = make_server("127.0.0.1", 0, EmulatorShims(answer_empty), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def client(url: str, service: str, region: str = "us-west-2") -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="AKIADEPLOYROLE000001",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}),
    )


CALLS: list[tuple[str, str, dict[str, Any], str]] = [
    ("lambda", "get_alias", {"FunctionName": "f", "Name": "live"}, "lambda:GetAlias"),
    ("lambda", "list_versions_by_function", {"FunctionName": "f"}, "lambda:ListVersionsByFunction"),
    ("apigateway", "update_stage", {"restApiId": "a", "stageName": "v1"}, "apigateway:PATCH"),
    ("route53", "list_traffic_policies", {}, "route53:ListTrafficPolicies"),
    ("route53", "list_traffic_policy_versions", {"Id": "p"}, "route53:ListTrafficPolicyVersions"),
    (
        "route53",
        "change_resource_record_sets",
        {
            "HostedZoneId": "Z1",
            "ChangeBatch": {
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": "a.example.com",
                            "Type": "A",
                            "TTL": 60,
                            "ResourceRecords": [{"Value": "192.0.2.1"}],
                        },
                    }
                ]
            },
        },
        "route53:ChangeResourceRecordSets",
    ),
    ("s3", "head_bucket", {"Bucket": "b"}, "s3:ListBucket"),
    ("s3", "get_bucket_tagging", {"Bucket": "b"}, "s3:GetBucketTagging"),
    ("s3", "put_object", {"Bucket": "b", "Key": "k/t.tfstate", "Body": b"x"}, "s3:PutObject"),
    ("xray", "get_sampling_rules", {}, "xray:GetSamplingRules"),
    ("iam", "get_role", {"RoleName": "r"}, "iam:GetRole"),
    ("kms", "describe_key", {"KeyId": "k"}, "kms:DescribeKey"),
    ("cloudwatch", "describe_alarms", {}, "cloudwatch:DescribeAlarms"),
    (
        "sns",
        "get_topic_attributes",
        {"TopicArn": "arn:aws:sns:us-west-2:1:t"},
        "sns:GetTopicAttributes",
    ),
    ("logs", "describe_log_groups", {}, "logs:DescribeLogGroups"),
    (
        "acm",
        "describe_certificate",
        {"CertificateArn": "arn:aws:acm:us-west-2:1:certificate/c"},
        "acm:DescribeCertificate",
    ),
]


def test_each_request_is_recorded_as_its_iam_action(logged: tuple[str, Path]) -> None:
    url, log = logged
    for service, method, params, _ in CALLS:
        with contextlib.suppress(BotoCoreError, ClientError, ResponseParserError):
            getattr(client(url, service), method)(**params)
    calls = read(log)
    assert [c.action for c in calls] == [action for *_, action in CALLS]
    assert {c.region for c in calls} == {"us-west-2"}
    assert {c.access_key for c in calls} == {"AKIADEPLOYROLE000001"}


def test_the_report_names_calls_the_role_does_not_grant_and_grants_never_called() -> None:
    calls = [
        Call("xray", "GetSamplingRules", "xray:GetSamplingRules", "us-east-1", "k", "POST", "/"),
        Call("kms", "DescribeKey", "kms:DescribeKey", "us-east-1", "k", "POST", "/"),
    ]
    text = report(calls, {"kms:DescribeKey": "yes", "kms:CreateKey": "yes"})
    assert "xray:GetSamplingRules | 1 | NO" in text
    assert "kms:DescribeKey | 1 | yes" in text
    assert text.endswith("granted, never called (1): kms:CreateKey")


def test_without_the_variable_nothing_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    shims = EmulatorShims(answer_empty)
    assert shims._call_log is None
