"""The optional GitHub Actions deploy role in the bootstrap stack (settings `[deploy]`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cdktf_cdktf_provider_aws.data_aws_iam_openid_connect_provider import (
    DataAwsIamOpenidConnectProvider,
)
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment

from epoch_settings import SettingsError, load_settings
from remote_state.stack import STACK_NAME as STATE
from tests.iam.render import iam_policy
from tests.infra.conftest import Synthesized

# IAM's limit for one managed policy, whitespace excluded.
MANAGED_POLICY_MAX_CHARS = 6144


@pytest.fixture(scope="module")
def deploy_app(synthesized_apps: dict[str, Synthesized]) -> Synthesized:
    return synthesized_apps["deploy_role"]


def documents(app: Synthesized, prefix: str) -> dict[str, dict[str, Any]]:
    docs = app.data_sources(STATE, DataAwsIamPolicyDocument.TF_RESOURCE_TYPE)
    return {name: doc for name, doc in docs.items() if name.startswith(prefix)}


def test_without_the_setting_there_is_no_deploy_role(
    synthesized_apps: dict[str, Synthesized],
) -> None:
    for name, app in synthesized_apps.items():
        if name == "deploy_role":
            continue
        assert app.resources(STATE, IamOpenidConnectProvider.TF_RESOURCE_TYPE) == {}
        assert app.resources(STATE, IamRole.TF_RESOURCE_TYPE) == {}
        assert "deploy_role_arn" not in app.stack(STATE).get("output", {})


def test_the_provider_and_role_exist(deploy_app: Synthesized) -> None:
    (provider,) = deploy_app.resources(STATE, IamOpenidConnectProvider.TF_RESOURCE_TYPE).values()
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    (role,) = deploy_app.resources(STATE, IamRole.TF_RESOURCE_TYPE).values()
    assert role["name"] == "epoch-register-deploy"
    assert "deploy_role_arn" in deploy_app.stack(STATE)["output"]
    policies = deploy_app.resources(STATE, IamPolicy.TF_RESOURCE_TYPE)
    attachments = deploy_app.resources(STATE, IamRolePolicyAttachment.TF_RESOURCE_TYPE)
    assert sorted(p["name"] for p in policies.values()) == [
        "epoch-register-app-boundary",
        "epoch-register-deploy-compute",
        "epoch-register-deploy-edge",
        "epoch-register-deploy-state-data",
    ]
    # The boundary is for the root stack's roles, never attached to the deploy role.
    assert len(attachments) == 3
    assert "app_boundary" not in json.dumps(attachments)


def test_only_the_repository_environment_can_assume_it(
    deploy_app: Synthesized,
) -> None:
    ((_, trust),) = documents(deploy_app, "deploy_trust").items()
    (statement,) = trust["statement"]
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    (principal,) = statement["principals"]
    assert principal["type"] == "Federated"
    assert "aws_iam_openid_connect_provider" in principal["identifiers"][0]
    conditions = {(c["test"], c["variable"]): c["values"] for c in statement["condition"]}
    assert conditions == {
        ("StringEquals", "token.actions.githubusercontent.com:aud"): ["sts.amazonaws.com"],
        # Not the branch: a job on main outside the environment has no reviewer.
        ("StringEquals", "token.actions.githubusercontent.com:sub"): [
            "repo:example-org/epoch-register:environment:production",
        ],
    }


def access_statements(app: Synthesized) -> list[dict[str, Any]]:
    docs = documents(app, "deploy_")
    return [s for name, doc in docs.items() if "_access" in name for s in doc["statement"]]


def test_every_statement_has_a_sid_and_no_action_wildcard(deploy_app: Synthesized) -> None:
    statements = access_statements(deploy_app)
    sids = [s["sid"] for s in statements]
    assert len(statements) > 20
    assert all(sids)
    assert len(set(sids)) == len(sids)
    actions = [a for s in statements for a in s["actions"]]
    assert not [a for a in actions if "*" in a]


def test_names_are_scoped_to_the_app(deploy_app: Synthesized) -> None:
    allowed = {s["sid"]: s for s in access_statements(deploy_app) if s["effect"] == "Allow"}
    account = "${data.aws_caller_identity.account.account_id}"
    assert allowed["Functions"]["resources"] == [
        f"arn:aws:lambda:*:{account}:function:epoch-register-{f}{qualifier}"
        for qualifier in ("", ":*")
        for f in ("register", "read", "health")
    ]
    # No bare `<app>-*`: it would match a second deployment named `<app>-staging`.
    resources = [r for s in allowed.values() for r in s.get("resources", [])]
    assert not [r for r in resources if r.endswith("epoch-register-*")]
    roles = allowed["BoundedAppRoles"]["resources"]
    assert sorted(r.rsplit("/", 1)[1] for r in roles) == [
        "epoch-register-apigateway-logs",
        "epoch-register-health",
        "epoch-register-read",
        "epoch-register-register",
    ]  # never the deploy role itself
    (records,) = allowed["ApiRecords"]["condition"]
    assert records["values"] == [
        "api.epochregister.example.com",
        "_*.api.epochregister.example.com",
    ]
    assert allowed["ApiRecords"]["resources"] == [
        "arn:aws:route53:::hostedzone/Z0123456789EXAMPLE0AB"
    ]
    deny = [s for s in access_statements(deploy_app) if s["effect"] == "Deny"]
    assert [s["sid"] for s in deny] == [
        "DenySelfChange",
        "DenyBoundaryRemovalAndTrustRewrite",
        "DenyStateKeyAdministration",
    ]


def as_iam_json(app: Synthesized, doc: dict[str, Any]) -> str:
    """A policy document rendered as IAM stores it (whitespace excluded)."""
    names = {"deploy_role": app.settings.names.deploy_role, "state_bucket": "b"}
    return json.dumps(iam_policy(doc, names), separators=(",", ":"))


def test_each_policy_fits_iams_size_limit(deploy_app: Synthesized) -> None:
    sizes = {
        name: len(as_iam_json(deploy_app, doc))
        for name, doc in documents(deploy_app, "deploy_").items()
        if "_access" in name
    }
    assert len(sizes) == 3
    assert all(size < MANAGED_POLICY_MAX_CHARS for size in sizes.values()), sizes


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"nope"', "is not a GitHub repository as owner/name"),
        ('"owner/name/extra"', "is not a GitHub repository as owner/name"),
        ('"-owner/name"', "is not a GitHub repository as owner/name"),
        ("42", "deploy.github_repository"),
    ],
)
def test_a_bad_repository_is_one_clear_line(
    value: str, message: str, tmp_path: Any, project_root: Any
) -> None:
    settings = tmp_path / "s.toml"
    settings.write_text(
        (project_root / "settings.toml").read_text() + f"\n[deploy]\ngithub_repository = {value}\n"
    )
    with pytest.raises(SettingsError) as raised:
        load_settings(settings)
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"{settings}: deploy.github_repository")
    assert message in text


def test_an_existing_oidc_provider_is_read_not_created(
    deploy_app: Synthesized, tmp_path: Path
) -> None:
    """`create_oidc_provider = false`: one more synth of the bootstrap stack alone
    (the bindings are already loaded by the session's variants)."""
    from cdktf import App

    from remote_state import RemoteStateStack

    deploy = deploy_app.settings.deploy.model_copy(update={"create_oidc_provider": False})
    settings = deploy_app.settings.model_copy(update={"deploy": deploy})
    app = App(outdir=str(tmp_path))
    RemoteStateStack(app, settings=settings)
    app.synth()
    stack = json.loads((tmp_path / "stacks" / STATE / "cdk.tf.json").read_text())
    assert IamOpenidConnectProvider.TF_RESOURCE_TYPE not in stack["resource"]
    (reader,) = stack["data"][DataAwsIamOpenidConnectProvider.TF_RESOURCE_TYPE].values()
    assert reader["url"] == "https://token.actions.githubusercontent.com"
    (role,) = stack["resource"][IamRole.TF_RESOURCE_TYPE].values()
    assert "data.aws_iam_openid_connect_provider" in json.dumps(stack["data"])
    assert role["name"] == "epoch-register-deploy"


def test_the_bootstrap_stack_leaves_its_resources_without_the_app_tag(
    deploy_app: Synthesized,
) -> None:
    # The deploy role reaches API Gateway and ACM resources through the app tag
    # (KMS keys only through their own key policy): no bootstrap resource carries it.
    stack = deploy_app.stack(STATE)
    for provider in stack["provider"]["aws"]:
        for default_tags in provider.get("default_tags", []):
            assert "app" not in default_tags["tags"]
    for resources in stack["resource"].values():
        for resource in resources.values():
            assert "app" not in (resource.get("tags") or {})
