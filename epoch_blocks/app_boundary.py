"""The permissions boundary of the root stack's roles, shared by both stacks.

The bootstrap stack (admin-applied) creates the boundary policy; the root stack
attaches it to every role it creates; the deploy role may create or change those
roles only with it attached. It caps them at what the functions and API Gateway's
logging need, whatever inline or managed policy a role is given.
"""

from __future__ import annotations

from epoch_blocks.policy import Condition, Statement
from epoch_settings import Names
from handlers import contract

# AWS publishes the API Gateway logging policy; it needs account-wide log access.
APIGW_LOGS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
# What AmazonAPIGatewayPushToCloudWatchLogs grants (on "*").
APIGW_LOGS_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:PutLogEvents",
)


def boundary_arn(names: Names, account: str) -> str:
    return f"arn:aws:iam::{account}:policy/{names.app_boundary}"


def boundary_statements(names: Names, account: str) -> list[Statement]:
    """The most any app role may do (any region: the ARNs name the app's own resources)."""
    table = f"arn:aws:dynamodb:*:{account}:table/{names.table}"
    return [
        Statement(
            sid="Table",
            actions=("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"),
            resources=(table, f"{table}/index/{contract.LIST_INDEX_NAME}"),
        ),
        Statement(
            sid="TableKey",
            actions=("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
            resources=(f"arn:aws:kms:*:{account}:key/*",),
            conditions=(Condition("StringLike", "kms:ViaService", ("dynamodb.*.amazonaws.com",)),),
        ),
        Statement(
            sid="FunctionLogs",
            actions=("logs:CreateLogStream", "logs:PutLogEvents"),
            resources=tuple(
                f"arn:aws:logs:*:{account}:log-group:{names.log_group(f)}:*"
                for f in contract.FUNCTION_HANDLERS
            ),
        ),
        # X-Ray has no resource-level permissions: "*" is the only resource it accepts.
        Statement(
            sid="Tracing",
            actions=("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
            resources=("*",),
        ),
        # API Gateway's access and execution logs (log group names carry random API ids).
        Statement(
            sid="ApiGatewayLogs",
            actions=APIGW_LOGS_ACTIONS,
            resources=(f"arn:aws:logs:*:{account}:log-group:*",),
        ),
    ]
