"""Least-privilege IAM: one role per function, and API Gateway's logging role.

IAM is global, so each role is made once and trusted by the function of the
same name in every region; every grant lists the per-region ARNs it covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from epoch_blocks.app_boundary import APIGW_LOGS_POLICY
from epoch_blocks.policy import Condition, Statement, policy_document
from epoch_settings import Names
from handlers import auth, contract

# DynamoDB calls each function makes (see handlers/): nothing else is granted.
TABLE_ACTIONS: dict[str, tuple[str, ...]] = {
    # Conditional PutItem; GetItem returns the first registration on an idempotent retry.
    "register": ("dynamodb:GetItem", "dynamodb:PutItem"),
    "read": ("dynamodb:GetItem", "dynamodb:Query"),
    "health": ("dynamodb:GetItem",),
}
# Functions that query the list index (the index ARN is a separate resource).
INDEX_USERS = frozenset({"read"})
__all__ = ["APIGW_LOGS_POLICY", "ApiGatewayLoggingRole", "FunctionRoles"]


def _assume_role(scope: Construct, id_: str, service: str, provider: AwsProvider) -> str:
    return str(
        policy_document(
            scope,
            id_,
            [
                Statement(
                    sid="TrustService",
                    actions=("sts:AssumeRole",),
                    principals={"Service": (service,)},
                )
            ],
            provider=provider,
        ).json
    )


@dataclass(frozen=True)
class RolesProps:
    """What the function roles read: the names, the regions the table and logs are in,
    and settings `api.auth` (jwt adds the authorizer's role)."""

    names: Names
    regions: tuple[str, ...]
    auth_mode: str


class FunctionRoles(Construct):
    """Owns one execution role per Lambda function, scoped to the table, its key and its logs."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        props: RolesProps,
        provider: AwsProvider,
        account_id: str,
        key_arns: Mapping[str, str],
        permissions_boundary: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        names = props.names
        regions = props.regions
        self.arns: dict[str, str] = {}
        # Functions depend on these, so none runs (provisioned concurrency starts
        # them at deploy) before it may write its logs.
        self.policies: dict[str, IamRolePolicy] = {}
        trust = _assume_role(self, "lambda_trust", "lambda.amazonaws.com", provider)
        functions = list(contract.FUNCTION_HANDLERS)
        if props.auth_mode == auth.AUTH_JWT:
            # The authorizer reads no table: it fetches the issuer's keys over https.
            functions.append(auth.AUTHORIZER_FUNCTION)
        for function in functions:
            tables = [
                f"arn:aws:dynamodb:{region}:{account_id}:table/{names.table}" for region in regions
            ]
            if function in INDEX_USERS:
                tables += [f"{arn}/index/{contract.LIST_INDEX_NAME}" for arn in tables]
            log_groups = [
                f"arn:aws:logs:{region}:{account_id}:log-group:{names.log_group(function)}:*"
                for region in regions
            ]
            data_access = (
                []
                if function not in TABLE_ACTIONS
                else [
                    Statement(sid="Table", actions=TABLE_ACTIONS[function], resources=tables),
                    # Only through DynamoDB: the table's key is not for anything else.
                    Statement(
                        sid="TableKey",
                        actions=("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
                        resources=[key_arns[region] for region in regions],
                        conditions=(
                            Condition(
                                "StringEquals",
                                "kms:ViaService",
                                [f"dynamodb.{region}.amazonaws.com" for region in regions],
                            ),
                        ),
                    ),
                ]
            )
            statements = [
                *data_access,
                Statement(
                    sid="OwnLogs",
                    actions=("logs:CreateLogStream", "logs:PutLogEvents"),
                    resources=log_groups,
                ),
                # X-Ray has no resource-level permissions: "*" is the only resource it accepts.
                Statement(
                    sid="Tracing",
                    actions=("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
                    resources=("*",),
                ),
            ]
            role = IamRole(
                self,
                f"{function}_role",
                provider=provider,
                name=names.function(function),
                description=f"{names.app} {function} function",
                assume_role_policy=trust,
                permissions_boundary=permissions_boundary,
            )
            self.policies[function] = IamRolePolicy(
                self,
                f"{function}_policy",
                provider=provider,
                role=role.id,
                name=f"{names.function(function)}-access",
                policy=policy_document(
                    self, f"{function}_access", statements, provider=provider
                ).json,
            )
            self.arns[function] = role.arn


class ApiGatewayLoggingRole(Construct):
    """Owns the role API Gateway uses (in every region) to write access and execution logs."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        role_name: str,
        provider: AwsProvider,
        permissions_boundary: str | None = None,
    ):
        super().__init__(scope, id_)
        role = IamRole(
            self,
            "role",
            provider=provider,
            name=role_name,
            assume_role_policy=_assume_role(self, "trust", "apigateway.amazonaws.com", provider),
            permissions_boundary=permissions_boundary,
        )
        # API Gateway checks the role's permissions when the account setting is
        # made: the setting must wait for this attachment.
        self.attachment = IamRolePolicyAttachment(
            self, "logs", provider=provider, role=role.name, policy_arn=APIGW_LOGS_POLICY
        )
        self.arn = role.arn
