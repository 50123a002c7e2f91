"""The emulator shims, driven over HTTP by boto3 (the client Terraform's provider mirrors).

The shims sit in front of a small recording WSGI app standing in for the
emulator: these tests show what the shims answer themselves, what they pass
on, and what they change on the way. The real emulator is exercised by
`pipenv run rehearse`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from rehearsal.shims import GAPS, EmulatorShims, credential_scope, enforceable_policy

TLS_ONLY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::state", "arn:aws:s3:::state/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


TABLE = {
    "TableName": "registrations",
    "TableStatus": "ACTIVE",
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}


class Downstream:
    """Records what reaches the 'emulator' and answers like it for the calls used here."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, bytes, str]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        region, _ = credential_scope(environ)
        self.calls.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], target, body, region))
        if target == "TrentService.ReplicateKey":
            reply = {
                "ReplicaKeyMetadata": {"KeyId": "mrk-1", "Arn": "arn:aws:kms:us-west-2:1:key/mrk-1"}
            }
            payload = json.dumps(reply).encode()
        elif target == "AnyScaleFrontendService.RegisterScalableTarget":
            payload = json.dumps({"ScalableTargetARN": "arn:target/1"}).encode()
        elif target == "DynamoDB_20120810.DescribeTable":
            payload = json.dumps({"Table": TABLE}).encode()
        elif target.startswith(("TrentService.", "AnyScale", "DynamoDB_20120810.", "AWSWAF_")):
            payload = b"{}"
        else:
            start_response("204 No Content", [])
            return [b""]
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
        return [payload]


@pytest.fixture
def served() -> Iterator[tuple[str, Downstream, EmulatorShims]]:
    downstream = Downstream()
    shims = EmulatorShims(downstream)
    server = make_server("127.0.0.1", 0, shims, threaded=True)
    # shutdown() waits for the loop's next poll: 0.5 s by default, on every test.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}", downstream, shims
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def client(url: str, service: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_every_gap_is_documented_with_its_handling() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "rehearsal.md").read_text()
    table = doc.split("## Emulator gaps", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| aws_")]
    # One row per gap, named as GAPS names it, with its call, the emulator's answer
    # and the handling; the table's last row is the emulator's own settings.
    assert sorted(row[0].removeprefix("| ") for row in rows) == sorted(g.resource for g in GAPS)
    assert all(len(row) == 4 for row in rows)
    assert "| (emulator settings) |" in table


def test_scaling_target_tags_are_kept_and_answered(
    served: tuple[str, Downstream, EmulatorShims],
) -> None:
    url, downstream, _ = served
    scaling = client(url, "application-autoscaling")
    arn = scaling.register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/t",
        ScalableDimension="dynamodb:table:ReadCapacityUnits",
        MinCapacity=1,
        MaxCapacity=2,
        Tags={"project": "epoch"},
    )["ScalableTargetARN"]
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"project": "epoch"}
    scaling.tag_resource(ResourceARN=arn, Tags={"owner": "team"})
    scaling.untag_resource(ResourceARN=arn, TagKeys=["project"])
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"owner": "team"}
    # Only the registration reached the emulator; the tag calls were answered by the shim.
    assert [call[2] for call in downstream.calls] == [
        "AnyScaleFrontendService.RegisterScalableTarget"
    ]


def test_replicate_key_applies_description_policy_and_tags_in_the_replica_region(
    served: tuple[str, Downstream, EmulatorShims],
) -> None:
    url, downstream, _ = served
    kms = client(url, "kms")
    kms.replicate_key(
        KeyId="mrk-1",
        ReplicaRegion="us-west-2",
        Description="data key",
        Policy='{"Version": "2012-10-17"}',
        Tags=[{"TagKey": "project", "TagValue": "epoch"}],
    )
    follow_ups = [(call[2], call[4], json.loads(call[3])) for call in downstream.calls[1:]]
    assert follow_ups == [
        (
            "TrentService.UpdateKeyDescription",
            "us-west-2",
            {"KeyId": "mrk-1", "Description": "data key"},
        ),
        (
            "TrentService.PutKeyPolicy",
            "us-west-2",
            {"KeyId": "mrk-1", "PolicyName": "default", "Policy": '{"Version": "2012-10-17"}'},
        ),
        (
            "TrentService.TagResource",
            "us-west-2",
            {"KeyId": "mrk-1", "Tags": [{"TagKey": "project", "TagValue": "epoch"}]},
        ),
    ]


def test_bucket_policy_reads_back_as_written_while_the_emulator_enforces_what_it_can(
    served: tuple[str, Downstream, EmulatorShims],
) -> None:
    url, downstream, _ = served
    s3 = client(url, "s3")
    written = {
        **TLS_ONLY_POLICY,
        "Statement": [
            *TLS_ONLY_POLICY["Statement"],
            {
                "Sid": "Other",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteBucket",
                "Resource": "arn:aws:s3:::state",
            },
        ],
    }
    s3.put_bucket_policy(Bucket="state", Policy=json.dumps(written))
    put = [call for call in downstream.calls if call[0] == "PUT"]
    assert [s["Sid"] for s in json.loads(put[0][3])["Statement"]] == ["Other"]
    assert json.loads(s3.get_bucket_policy(Bucket="state")["Policy"]) == written


def test_tls_only_policy_leaves_nothing_for_the_emulator() -> None:
    assert enforceable_policy(TLS_ONLY_POLICY) is None
    other = {
        "Statement": {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    }
    assert enforceable_policy(other) == {"Statement": [other["Statement"]]}


def test_provisioned_concurrency_is_ready_and_removable(
    served: tuple[str, Downstream, EmulatorShims],
) -> None:
    url, downstream, _ = served
    lam = client(url, "lambda")
    put = lam.put_provisioned_concurrency_config(
        FunctionName="epoch-register-read", Qualifier="live", ProvisionedConcurrentExecutions=2
    )
    assert put["Status"] == "READY"
    assert put["AllocatedProvisionedConcurrentExecutions"] == 2
    got = lam.get_provisioned_concurrency_config(
        FunctionName="epoch-register-read", Qualifier="live"
    )
    assert got["RequestedProvisionedConcurrentExecutions"] == 2
    west = client(url, "lambda", "us-west-2")
    west.put_provisioned_concurrency_config(
        FunctionName="epoch-register-read", Qualifier="live", ProvisionedConcurrentExecutions=3
    )
    lam.delete_provisioned_concurrency_config(FunctionName="epoch-register-read", Qualifier="live")
    # The same function name in another region is another function.
    kept = west.get_provisioned_concurrency_config(
        FunctionName="epoch-register-read", Qualifier="live"
    )
    assert kept["RequestedProvisionedConcurrentExecutions"] == 3
    with pytest.raises(ClientError) as gone:
        lam.get_provisioned_concurrency_config(FunctionName="epoch-register-read", Qualifier="live")
    assert gone.value.response["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"
    assert downstream.calls == []


def test_traffic_policy_and_instance_lifecycle(
    served: tuple[str, Downstream, EmulatorShims],
) -> None:
    url, _, _ = served
    route53 = client(url, "route53")
    document = json.dumps({"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A"})
    policy = route53.create_traffic_policy(Name="epoch-api", Document=document)["TrafficPolicy"]
    assert (policy["Version"], policy["Type"]) == (1, "A")
    summaries = route53.list_traffic_policies()["TrafficPolicySummaries"]
    assert [(s["Id"], s["LatestVersion"]) for s in summaries] == [(policy["Id"], 1)]
    assert (
        route53.get_traffic_policy(Id=policy["Id"], Version=1)["TrafficPolicy"]["Document"]
        == document
    )
    instance = route53.create_traffic_policy_instance(
        HostedZoneId="Z1",
        Name="api.example.com",
        TTL=60,
        TrafficPolicyId=policy["Id"],
        TrafficPolicyVersion=1,
    )["TrafficPolicyInstance"]
    assert (
        route53.get_traffic_policy_instance(Id=instance["Id"])["TrafficPolicyInstance"]["State"]
        == "Applied"
    )
    # A version in use cannot go, as on AWS.
    with pytest.raises(ClientError) as in_use:
        route53.delete_traffic_policy(Id=policy["Id"], Version=1)
    assert in_use.value.response["Error"]["Code"] == "TrafficPolicyInUse"
    route53.delete_traffic_policy_instance(Id=instance["Id"])
    route53.delete_traffic_policy(Id=policy["Id"], Version=1)
    assert route53.list_traffic_policies()["TrafficPolicySummaries"] == []
    with pytest.raises(ClientError) as missing:
        route53.get_traffic_policy_instance(Id=instance["Id"])
    assert missing.value.response["Error"]["Code"] == "NoSuchTrafficPolicyInstance"


def test_other_calls_pass_through_untouched(served: tuple[str, Downstream, EmulatorShims]) -> None:
    url, downstream, shims = served
    client(url, "kms").tag_resource(KeyId="k", Tags=[{"TagKey": "a", "TagValue": "b"}])
    assert [call[2] for call in downstream.calls] == ["TrentService.TagResource"]
    assert shims.shimmed_calls == {}


def test_lambda_logging_config_is_kept_and_returned() -> None:
    from rehearsal.shims import add_logging_configs, function_name

    assert function_name("arn:aws:lambda:us-east-1:1:function:epoch-read:live") == "epoch-read"
    assert function_name("epoch-read:3") == "epoch-read"
    config = {"LogFormat": "JSON", "LogGroup": "/aws/lambda/epoch-read"}
    answer: dict[str, Any] = {
        "Configuration": {"FunctionName": "epoch-read", "Version": "$LATEST"},
        "Versions": [{"FunctionName": "arn:aws:lambda:us-east-1:1:function:epoch-read:1"}],
    }
    assert add_logging_configs(answer, {"epoch-read": config})
    assert answer["Configuration"]["LoggingConfig"] == config
    assert answer["Versions"][0]["LoggingConfig"] == config
    assert not add_logging_configs({"FunctionName": "other"}, {"epoch-read": config})


def test_table_replica_is_created_listed_and_deleted_in_its_region(
    served: tuple[str, Downstream, EmulatorShims],
) -> None:
    url, downstream, _ = served
    dynamodb = client(url, "dynamodb")
    key = "arn:aws:kms:us-west-2:1:key/mrk-1"
    answer = dynamodb.update_table(
        TableName="registrations",
        ReplicaUpdates=[{"Create": {"RegionName": "us-west-2", "KMSMasterKeyId": key}}],
    )
    created = [c for c in downstream.calls if c[2] == "DynamoDB_20120810.CreateTable"]
    assert [c[4] for c in created] == ["us-west-2"]
    request = json.loads(created[0][3])
    assert request["KeySchema"] == TABLE["KeySchema"]
    assert request["BillingMode"] == "PAY_PER_REQUEST"
    assert request["StreamSpecification"] == TABLE["StreamSpecification"]
    assert request["SSESpecification"] == {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}
    listed = [{"RegionName": "us-west-2", "ReplicaStatus": "ACTIVE", "KMSMasterKeyId": key}]
    assert answer["TableDescription"]["Replicas"] == listed
    assert dynamodb.describe_table(TableName="registrations")["Table"]["Replicas"] == listed
    # Another region's DescribeTable of the same name is not the primary's: no replicas added.
    other = client(url, "dynamodb", "eu-west-1").describe_table(TableName="registrations")
    assert "Replicas" not in other["Table"]

    dynamodb.update_table(
        TableName="registrations", ReplicaUpdates=[{"Delete": {"RegionName": "us-west-2"}}]
    )
    deleted = [c for c in downstream.calls if c[2] == "DynamoDB_20120810.DeleteTable"]
    assert [c[4] for c in deleted] == ["us-west-2"]
    assert "Replicas" not in dynamodb.describe_table(TableName="registrations")["Table"]
    with pytest.raises(ClientError) as gone:
        dynamodb.update_table(
            TableName="registrations", ReplicaUpdates=[{"Delete": {"RegionName": "us-west-2"}}]
        )
    assert gone.value.response["Error"]["Code"] == "ValidationException"
    assert "was not found" in gone.value.response["Error"]["Message"]


def test_a_repeated_identical_lambda_post_is_answered_once(
    served: tuple[str, Downstream, EmulatorShims],
) -> None:
    url, downstream, _ = served
    east, west = client(url, "lambda"), client(url, "lambda", "us-west-2")
    for lam in (east, east, west):
        lam.add_permission(
            FunctionName="epoch-register-read",
            Qualifier="live",
            StatementId="AllowApiGatewayInvoke",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
        )
    reached = [(c[0], c[4]) for c in downstream.calls]
    # The repeat in us-east-1 was answered again, not carried out twice; us-west-2 is its own.
    assert reached == [("POST", "us-east-1"), ("POST", "us-west-2")]


def test_a_repeated_identical_json_create_is_answered_once_and_reads_are_not(
    served: tuple[str, Downstream, EmulatorShims],
) -> None:
    url, downstream, shims = served
    east, west = client(url, "wafv2"), client(url, "wafv2", "us-west-2")
    acl = {
        "Name": "epoch-register-api",
        "Scope": "REGIONAL",
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": "api",
        },
    }
    for waf in (east, east, west):
        waf.create_web_acl(**acl)
    kms = client(url, "kms")
    for _ in range(2):
        kms.describe_key(KeyId="alias/epoch-register")
    reached = [(c[2], c[4]) for c in downstream.calls]
    # The repeated create in us-east-1 was answered again; us-west-2 is its own; a read
    # repeated byte for byte still reaches the emulator every time.
    assert reached == [
        ("AWSWAF_20190729.CreateWebACL", "us-east-1"),
        ("AWSWAF_20190729.CreateWebACL", "us-west-2"),
        ("TrentService.DescribeKey", "us-east-1"),
        ("TrentService.DescribeKey", "us-east-1"),
    ]
    assert shims.shimmed_calls["AWSWAF_20190729.CreateWebACL replayed"] == 1


def test_a_repeated_identical_lock_put_is_answered_once_and_a_new_lock_is_not(
    served: tuple[str, Downstream, EmulatorShims],
) -> None:
    url, downstream, shims = served
    dynamodb = client(url, "dynamodb")

    def lock(lock_id: str) -> None:
        dynamodb.put_item(
            TableName="epoch-register-tflock",
            Item={"LockID": {"S": "bucket/key"}, "Info": {"S": lock_id}},
            ConditionExpression="attribute_not_exists(LockID)",
        )

    for lock_id in ("a", "a", "b"):
        lock(lock_id)
    reached = [c[2] for c in downstream.calls]
    assert reached == ["DynamoDB_20120810.PutItem", "DynamoDB_20120810.PutItem"]
    assert shims.shimmed_calls["DynamoDB_20120810.PutItem replayed"] == 1


def test_xray_sampling_rules_are_kept_per_region_with_their_tags(
    served: tuple[str, Downstream, EmulatorShims],
) -> None:
    url, downstream, _ = served
    east, west = client(url, "xray"), client(url, "xray", "us-west-2")
    rule = {
        "RuleName": "epoch-register-health",
        "ResourceARN": "*",
        "Priority": 100,
        "FixedRate": 0.0,
        "ReservoirSize": 0,
        "ServiceName": "*",
        "ServiceType": "*",
        "Host": "*",
        "HTTPMethod": "GET",
        "URLPath": "/v1/health",
        "Version": 1,
    }
    created = east.create_sampling_rule(SamplingRule=rule, Tags=[{"Key": "app", "Value": "e"}])
    arn = created["SamplingRuleRecord"]["SamplingRule"]["RuleARN"]
    assert arn == "arn:aws:xray:us-east-1:123456789012:sampling-rule/epoch-register-health"
    west.create_sampling_rule(SamplingRule=rule)  # the same name in another region
    with pytest.raises(ClientError) as twice:
        east.create_sampling_rule(SamplingRule=rule)
    assert twice.value.response["Error"]["Code"] == "InvalidRequestException"

    east.update_sampling_rule(
        SamplingRuleUpdate={"RuleName": "epoch-register-health", "FixedRate": 0.5}
    )
    (record,) = east.get_sampling_rules()["SamplingRuleRecords"]
    assert record["SamplingRule"]["FixedRate"] == 0.5
    assert east.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "app", "Value": "e"}]
    east.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "x"}])
    east.untag_resource(ResourceARN=arn, TagKeys=["app"])
    assert east.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "x"}]

    east.delete_sampling_rule(RuleARN=arn)
    assert east.get_sampling_rules()["SamplingRuleRecords"] == []
    (kept,) = west.get_sampling_rules()["SamplingRuleRecords"]
    assert kept["SamplingRule"]["FixedRate"] == 0.0
    with pytest.raises(ClientError):
        east.delete_sampling_rule(RuleName="epoch-register-health")
    assert downstream.calls == []


def test_the_emulator_patches_refuse_another_moto_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rehearsal import emulator_process
    from rehearsal.shims import MOTO_VERSION, EmulatorVersionError, moto_version, patch_emulator
    from rehearsal.shims.budgets import patch_budgets

    require = moto_version.require_moto
    require()  # the installed moto is the one the patches were written for
    with pytest.raises(EmulatorVersionError) as refused:
        require("5.3.0")
    assert str(refused.value) == (
        f"moto 5.3.0 is installed, but the rehearsal's emulator patches were written for "
        f"moto {MOTO_VERSION}: run `pipenv sync --dev` (the Pipfile pins moto=={MOTO_VERSION})"
    )

    monkeypatch.setattr(moto_version, "installed_moto", lambda: "5.3.0")
    for patch in (patch_emulator, patch_budgets):
        with pytest.raises(EmulatorVersionError, match=r"^moto 5\.3\.0 is installed"):
            patch()
    # The emulator process says so in one line and starts nothing.
    assert emulator_process.main(["--port", "1"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"error: {refused.value}\n")
