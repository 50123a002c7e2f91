"""The deploy role is closed to escalation: a real IAM evaluator (npm
@cloud-copilot/iam-simulate, tests/iam/) answers every path "denied".

Each escalation is a chain of calls (tag a key into scope, then take it over):
it succeeds only if every call is allowed. Each is asked twice: of the role as
synthesized now (denied), and of the role before issue 19
(tests/iam/deploy_role_before.json), where it was allowed: the test shows the
path was real. `before=None` marks the paths that needed the boundary to exist.
The policies are the synthesized `aws_iam_policy_document` data sources of the
`deploy_role` variant, rendered to IAM JSON with realistic ARNs for references.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument

from remote_state.stack import STACK_NAME as STATE
from tests.iam.evaluator import Answer, Request, evaluate
from tests.iam.render import ACCOUNT, APP_KEY_ARN, STATE_KEY_ARN, iam_policy
from tests.infra.conftest import Synthesized
from tests.infra.helpers import ROOT, is_key_policy

BEFORE = Path(__file__).resolve().parent.parent / "iam" / "deploy_role_before.json"
APP = "epoch-register"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/{APP}-deploy"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/{APP}-app-boundary"
REGISTER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{APP}-register"
LOGS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{APP}-apigateway-logs"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
LOGS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
OTHER_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/33333333-3333-3333-3333-333333333333"
OTHER_CERT = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/44444444-4444-4444-4444-444444444444"
APP_CERT = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/55555555-5555-5555-5555-555555555555"
OTHER_API = "arn:aws:apigateway:us-east-1::/restapis/other0api1"
APP_API = "arn:aws:apigateway:us-east-1::/restapis/app0api123"
# A key policy as AWS writes it by default: the account's IAM policies decide.
ACCOUNT_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Default",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}
APP_TAG: dict[str, str | list[str]] = {"aws:RequestTag/app": APP, "aws:TagKeys": ["app"]}
OWNED: dict[str, str | list[str]] = {"aws:ResourceTag/app": APP}
BOUNDED: dict[str, str | list[str]] = {"iam:PermissionsBoundary": BOUNDARY}


@dataclass(frozen=True)
class Escalation:
    name: str
    calls: tuple[Request, ...]
    before: bool | None = True  # None: not a path before the boundary existed


def key(arn: str, action: str, context: dict[str, str | list[str]] | None = None) -> Request:
    return Request(action, arn, context or {}, resource_policy=ACCOUNT_KEY_POLICY)


ESCALATIONS = [
    Escalation(
        "AttachRolePolicy AdministratorAccess to a function role",
        (Request("iam:AttachRolePolicy", REGISTER_ROLE, {"iam:PolicyARN": ADMIN, **BOUNDED}),),
    ),
    Escalation(
        "AttachRolePolicy AdministratorAccess to the logging role",
        (Request("iam:AttachRolePolicy", LOGS_ROLE, {"iam:PolicyARN": ADMIN, **BOUNDED}),),
    ),
    Escalation(
        "PutRolePolicy on a role without the boundary",
        (Request("iam:PutRolePolicy", REGISTER_ROLE),),
    ),
    Escalation("CreateRole without the boundary", (Request("iam:CreateRole", REGISTER_ROLE),)),
    Escalation(
        "CreateRole with another boundary",
        (Request("iam:CreateRole", REGISTER_ROLE, {"iam:PermissionsBoundary": ADMIN}),),
    ),
    Escalation(
        "DeleteRolePermissionsBoundary of a function role",
        (Request("iam:DeleteRolePermissionsBoundary", REGISTER_ROLE, BOUNDED),),
        before=None,
    ),
    Escalation(
        "PutRolePermissionsBoundary: AdministratorAccess as the boundary",
        (
            Request(
                "iam:PutRolePermissionsBoundary", REGISTER_ROLE, {"iam:PermissionsBoundary": ADMIN}
            ),
        ),
        before=None,
    ),
    *(
        Escalation(f"{action} of the boundary policy", (Request(action, BOUNDARY),), before=None)
        for action in (
            "iam:CreatePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:DeletePolicyVersion",
            "iam:DeletePolicy",
        )
    ),
    Escalation(
        "UpdateAssumeRolePolicy of a function role (to trust another account)",
        (Request("iam:UpdateAssumeRolePolicy", REGISTER_ROLE, BOUNDED),),
    ),
    Escalation(
        "UpdateAssumeRolePolicy of the deploy role itself",
        (Request("iam:UpdateAssumeRolePolicy", ROLE),),
        before=False,
    ),
    *(
        Escalation(
            f"TagResource app=<app> on the state key, then {action}",
            (key(STATE_KEY_ARN, "kms:TagResource", APP_TAG), key(STATE_KEY_ARN, action, OWNED)),
        )
        for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CreateGrant")
    ),
    *(
        Escalation(
            f"{action} on the state key", (key(STATE_KEY_ARN, action, {**OWNED, **APP_TAG}),)
        )
        for action in (
            "kms:TagResource",
            "kms:PutKeyPolicy",
            "kms:ScheduleKeyDeletion",
            "kms:CreateGrant",
        )
    ),
    Escalation(
        "TagResource app=<app> on another team's key, then PutKeyPolicy",
        (key(OTHER_KEY, "kms:TagResource", APP_TAG), key(OTHER_KEY, "kms:PutKeyPolicy", OWNED)),
    ),
    Escalation(
        "AddTagsToCertificate app=<app> on another certificate, then DeleteCertificate",
        (
            Request("acm:AddTagsToCertificate", OTHER_CERT, APP_TAG),
            Request("acm:DeleteCertificate", OTHER_CERT, OWNED),
        ),
    ),
    Escalation(
        "RequestCertificate for another domain",
        (
            Request(
                "acm:RequestCertificate", "*", {**APP_TAG, "acm:DomainNames": ["evil.example.org"]}
            ),
        ),
    ),
    *(
        Escalation(
            f"apigateway:{verb} on another app's REST API",
            (Request(f"apigateway:{verb}", resource, {"aws:ResourceTag/app": "other-app"}),),
        )
        for verb, resource in (
            ("PATCH", OTHER_API),
            ("PUT", OTHER_API),
            ("DELETE", OTHER_API),
            ("POST", f"{OTHER_API}/resources"),
            ("PATCH", f"{OTHER_API}/stages/v1"),
        )
    ),
    Escalation(
        "tag another app's REST API app=<app>, then PATCH it",
        (
            Request(
                "apigateway:PUT",
                f"arn:aws:apigateway:us-east-1::/tags/{quote(OTHER_API, safe='')}",
                {"aws:ResourceTag/app": "other-app", **APP_TAG},
            ),
            Request("apigateway:PATCH", OTHER_API, OWNED),
        ),
    ),
    Escalation(
        "UpdateFunctionCode of a second deployment <app>-staging's function",
        (
            Request(
                "lambda:UpdateFunctionCode",
                f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{APP}-staging-register",
            ),
        ),
    ),
]

# What a deploy must still do: the same evaluator answers "allowed".
DEPLOY_CALLS = [
    Request("iam:CreateRole", REGISTER_ROLE, BOUNDED),
    Request("iam:PutRolePolicy", REGISTER_ROLE, BOUNDED),
    Request("iam:PutRolePermissionsBoundary", REGISTER_ROLE, BOUNDED),
    Request("iam:AttachRolePolicy", LOGS_ROLE, {"iam:PolicyARN": LOGS_POLICY, **BOUNDED}),
    Request("iam:DeleteRole", REGISTER_ROLE, BOUNDED),
    Request("kms:CreateKey", "*", APP_TAG),
    key(APP_KEY_ARN, "kms:TagResource", APP_TAG),
    key(STATE_KEY_ARN, "kms:Decrypt"),
    key(STATE_KEY_ARN, "kms:GenerateDataKey"),
    Request(
        "acm:RequestCertificate",
        "*",
        {**APP_TAG, "acm:DomainNames": ["api.epochregister.example.com"]},
    ),
    Request("acm:DeleteCertificate", APP_CERT, OWNED),
    Request("apigateway:POST", "arn:aws:apigateway:us-east-1::/restapis", APP_TAG),
    Request("apigateway:PUT", APP_API, OWNED),
    Request("apigateway:PATCH", f"{APP_API}/stages/v1", OWNED),
    Request(
        "lambda:UpdateFunctionCode", f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:{APP}-register"
    ),
    Request(
        "cloudwatch:PutMetricAlarm",
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{APP}-us-west-2-route53-health",
    ),
    Request(
        "xray:CreateSamplingRule", f"arn:aws:xray:us-west-2:{ACCOUNT}:sampling-rule/{APP}-health"
    ),
]
# Calls on the app's data key: allowed by the key's own policy, not by a tag.
KEY_POLICY_CALLS = (
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:CreateGrant",
    "kms:TagResource",
)


def _names(app: Synthesized) -> dict[str, str]:
    return {
        "deploy_role": app.settings.names.deploy_role,
        "state_bucket": app.settings.names.state_bucket,
    }


def _policy_name(data_source: str) -> str:
    """deploy_state_data_access_4C9C8329 -> epoch-register-deploy-state-data"""
    part = data_source.removeprefix("deploy_").rsplit("_access", 1)[0]
    return f"{APP}-deploy-{part.replace('_', '-')}"


def _docs(app: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    return app.data_sources(stack, DataAwsIamPolicyDocument.TF_RESOURCE_TYPE)


@pytest.fixture(scope="module")
def now(synthesized_apps: dict[str, Synthesized]) -> dict[str, Any]:
    """The deploy role's identity policies, its trust, the boundary and the app key's policy."""
    app = synthesized_apps["deploy_role"]
    docs = _docs(app, STATE)
    identity = {
        _policy_name(name): iam_policy(doc, _names(app))
        for name, doc in docs.items()
        if name.startswith("deploy_") and "_access" in name
    }
    ((_, trust),) = [(n, d) for n, d in docs.items() if n.startswith("deploy_trust")]
    ((_, boundary),) = [
        (n, d) for n, d in docs.items() if n.startswith("deploy_app_boundary_policy")
    ]
    key_policies = [d for n, d in _docs(app, ROOT).items() if is_key_policy(n) and "us_east_1" in n]
    assert len(identity) == 3
    assert len(key_policies) == 1
    return {
        "identity": identity,
        "trust": iam_policy(trust, _names(app)),
        "boundary": iam_policy(boundary, _names(app)),
        "app_key_policy": iam_policy(key_policies[0], _names(app)),
    }


@pytest.fixture(scope="module")
def before() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BEFORE.read_text())
    return data


def _chain_allowed(answers: list[Answer]) -> bool:
    return all(a.result == "Allowed" for a in answers)


def _ask(paths: list[Escalation], identity: dict[str, Any]) -> dict[str, list[Answer]]:
    calls = [c for p in paths for c in p.calls]
    answers = iter(evaluate(calls, identity))
    return {p.name: [next(answers) for _ in p.calls] for p in paths}


@pytest.fixture(scope="module")
def answers_now(now: dict[str, Any]) -> dict[str, list[Answer]]:
    return _ask(ESCALATIONS, now["identity"])


@pytest.fixture(scope="module")
def answers_before(before: dict[str, Any]) -> dict[str, list[Answer]]:
    return _ask([p for p in ESCALATIONS if p.before is not None], before["identity"])


@pytest.mark.parametrize("path", ESCALATIONS, ids=[p.name for p in ESCALATIONS])
def test_escalation_is_denied_now(path: Escalation, answers_now: dict[str, list[Answer]]) -> None:
    answers = answers_now[path.name]
    assert not _chain_allowed(answers), [a.detail for a in answers]


@pytest.mark.parametrize(
    "path",
    [p for p in ESCALATIONS if p.before is not None],
    ids=[p.name for p in ESCALATIONS if p.before is not None],
)
def test_escalation_was_open_before(
    path: Escalation, answers_before: dict[str, list[Answer]]
) -> None:
    answers = answers_before[path.name]
    assert _chain_allowed(answers) is path.before, [a.detail for a in answers]


def test_the_state_key_is_denied_explicitly(answers_now: dict[str, list[Answer]]) -> None:
    for action in (
        "kms:TagResource",
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:CreateGrant",
    ):
        (answer,) = answers_now[f"{action} on the state key"]
        assert answer.result == "ExplicitlyDenied", answer.detail
        assert answer.detail["identityDeny"] == ["DenyStateKeyAdministration"]


def test_a_deploy_may_still_do_its_work(now: dict[str, Any]) -> None:
    answers = evaluate(DEPLOY_CALLS, now["identity"])
    refused = [
        (r.action, r.resource, a.detail)
        for r, a in zip(DEPLOY_CALLS, answers, strict=True)
        if a.denied
    ]
    assert not refused


def test_the_app_key_is_administered_through_its_own_policy(now: dict[str, Any]) -> None:
    calls = [
        Request(a, APP_KEY_ARN, resource_policy=now["app_key_policy"]) for a in KEY_POLICY_CALLS
    ]
    answers = evaluate(calls, now["identity"])
    assert all(a.result == "Allowed" for a in answers), [a.detail for a in answers]
    assert all("DeployRoleAdministration" in a.detail["resourceAllow"] for a in answers)
    # The same calls without that key policy (any other key in the account): denied.
    others = evaluate(
        [
            Request(a, OTHER_KEY, OWNED, resource_policy=ACCOUNT_KEY_POLICY)
            for a in KEY_POLICY_CALLS
        ],
        now["identity"],
    )
    assert all(a.denied for a in others), [a.detail for a in others]


def test_the_boundary_caps_an_app_role(now: dict[str, Any]) -> None:
    """Whatever an app role's own policy says (here "*:*"), the boundary decides."""
    admin = {
        "admin": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    }
    role = f"arn:aws:iam::{ACCOUNT}:role/{APP}-register"
    table = f"arn:aws:dynamodb:us-west-2:{ACCOUNT}:table/{APP}-registrations"
    calls = [
        Request("dynamodb:PutItem", table, principal=role),
        Request("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/x", principal=role),
        Request("dynamodb:DeleteTable", table, principal=role),
        Request("s3:GetObject", "arn:aws:s3:::epoch-register-tfstate-example/k", principal=role),
    ]
    answers = evaluate(calls, admin, boundary=now["boundary"])
    assert [a.result for a in answers] == [
        "Allowed",
        "ImplicitlyDenied",
        "ImplicitlyDenied",
        "ImplicitlyDenied",
    ]


# cloudsplaining's strict mode (its --flag-all-risky-actions: statements with
# conditions or resource ARNs count too) reports these on the deploy role; each
# is accepted for the reason given. Its default mode reports nothing, and did
# before issue 19 as well: it flags only actions without resource constraints.
ACCEPTED_RESOURCE_EXPOSURE = {
    "iam:CreateRole": "the four app roles by exact name, only with the boundary",
    "iam:DeleteRole": "the four app roles by exact name, only with the boundary",
    "iam:DeleteRolePolicy": "the four app roles by exact name, only with the boundary",
    "iam:PutRolePermissionsBoundary": "only the bootstrap stack's boundary, on the app roles",
    "iam:PutRolePolicy": "the four app roles by exact name, only with the boundary",
    "iam:UpdateRole": "the four app roles by exact name, only with the boundary",
    "iam:AttachRolePolicy": "only AmazonAPIGatewayPushToCloudWatchLogs, on the logging role",
    "iam:DetachRolePolicy": "only AmazonAPIGatewayPushToCloudWatchLogs, on the logging role",
    "iam:PassRole": "the app roles, to Lambda and API Gateway only",
    "iam:CreateServiceLinkedRole": "the four AWS services' own roles, by service name",
    "lambda:AddPermission": "the app's functions: API Gateway's invoke permission",
    "lambda:RemovePermission": "the app's functions: API Gateway's invoke permission",
    "apigateway:SetWebACL": "stages of REST APIs tagged app=<app>",
    "sns:CreateTopic": "the app's two alarm topics by exact name",
    "sns:SetTopicAttributes": "the app's two alarm topics by exact name",
}
ACCEPTED_PRIVILEGE_ESCALATION = {
    "EditExistingLambdaFunctionWithRole": "the role ships the app's code by design; the "
    "functions' roles are capped by the boundary at the table, its key through DynamoDB, "
    "their own logs and X-Ray, which the deploy role reaches anyway",
}


def _cloudsplaining(identity: dict[str, Any], strict: bool) -> tuple[set[str], set[str]]:
    from cloudsplaining.scan.policy_document import PolicyDocument

    # One document: an escalation may combine actions of the three policies.
    statements = [s for policy in identity.values() for s in policy["Statement"]]
    doc = PolicyDocument(
        {"Version": "2012-10-17", "Statement": statements},
        flag_conditional_statements=strict,
        flag_resource_arn_statements=strict,
    )
    escalations = {e["type"] for e in doc.allows_privilege_escalation}
    return escalations, set(doc.permissions_management_without_constraints)


def test_cloudsplaining_finds_nothing_unconstrained(now: dict[str, Any]) -> None:
    assert _cloudsplaining(now["identity"], strict=False) == (set(), set())


def test_cloudsplaining_strict_findings_are_each_accepted(
    now: dict[str, Any], before: dict[str, Any]
) -> None:
    escalations, exposure = _cloudsplaining(now["identity"], strict=True)
    assert escalations == set(ACCEPTED_PRIVILEGE_ESCALATION)
    assert exposure == set(ACCEPTED_RESOURCE_EXPOSURE)
    # What it found before and no longer does: trust rewrites and key-policy takeover.
    _, exposure_before = _cloudsplaining(before["identity"], strict=True)
    assert exposure_before - exposure == {
        "iam:UpdateAssumeRolePolicy",
        "kms:CreateGrant",
        "kms:PutKeyPolicy",
    }
