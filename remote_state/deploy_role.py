"""DeployRole: GitHub's OIDC identity provider and the role a workflow assumes to deploy.

Created only with settings `[deploy] github_repository = "owner/name"`. Only that
repository's `deploy.branch` (pushes) or its `deploy.environment` (jobs in that
GitHub environment) can assume it, through GitHub's OIDC tokens: no stored keys.

How the action list was built: by hand, not from a recording. For every
resource type the two stacks synthesize (and for the Terraform S3 backend),
the create, read, update, delete and tagging calls the AWS provider makes for
it, checked against the Service Authorization Reference for the resource types
and condition keys each action accepts. Every statement says what it is for.
Resources are the app's own names wherever the action accepts a resource ARN
(`<app>-…`, the state bucket and key, the hosted zone, the exact role names);
where AWS accepts only "*", the statement says so. The role cannot change
itself (explicit deny). A first deploy may still meet an AccessDenied the list
missed: CloudTrail names the action; add it to the statement of its service.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_iam_openid_connect_provider import (
    DataAwsIamOpenidConnectProvider,
)
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from epoch_blocks.policy import Condition, Statement, policy_document
from epoch_settings import Settings
from handlers import contract

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
# A full deploy (global table replicas, certificates) can outlast the 1 h default.
MAX_SESSION_SECONDS = 2 * 3600
# Service-linked roles AWS creates on first use of these features in an account.
SERVICE_LINKED_ROLE_SERVICES = (
    "replication.dynamodb.amazonaws.com",  # global table replicas
    "dynamodb.application-autoscaling.amazonaws.com",  # table autoscaling
    "ops.apigateway.amazonaws.com",  # API Gateway custom domains
    "wafv2.amazonaws.com",  # WAF logging to CloudWatch Logs
)


def subjects(settings: Settings) -> list[str]:
    """The OIDC `sub` claims allowed to assume the role."""
    repo, deploy = settings.deploy.github_repository, settings.deploy
    return [
        f"repo:{repo}:ref:refs/heads/{deploy.branch}",
        f"repo:{repo}:environment:{deploy.environment}",
    ]


def deploy_statements(
    settings: Settings, account: str, state_key_arn: str
) -> dict[str, list[Statement]]:
    """The deploy role's permissions by managed policy (see the module docstring for how
    they were chosen). Three policies: one role's inline policies may hold 10,240
    characters in all, a managed policy 6,144; this list needs more than either."""
    names = settings.names
    app = names.app
    tagged = (Condition("StringEquals", "aws:ResourceTag/app", (app,)),)
    request_tagged = (Condition("StringEquals", "aws:RequestTag/app", (app,)),)

    def arns(pattern: str) -> tuple[str, ...]:
        # Any region: one ARN per resource pattern keeps each policy under IAM's
        # 6,144-character limit at any region count; the names stay the app's own.
        return (pattern.format(region="*", account=account, app=app),)

    table = f"arn:aws:dynamodb:{{region}}:{{account}}:table/{names.table}"
    bucket = f"arn:aws:s3:::{names.state_bucket}"
    role_arns = tuple(
        f"arn:aws:iam::{account}:role/{name}"
        for name in (
            *(names.function(f) for f in contract.FUNCTION_HANDLERS),
            names.apigateway_logs_role,
        )
    )
    api_domain = names.api_domain
    return {
        # Terraform state, the data key, the global table.
        "state-data": [
            # --- Terraform state (S3 backend with use_lockfile and the lock table) ---
            Statement(sid="StateBucketList", actions=("s3:ListBucket",), resources=(bucket,)),
            Statement(
                sid="StateObjects",
                actions=("s3:DeleteObject", "s3:GetObject", "s3:PutObject"),
                resources=(f"{bucket}/{names.state_key}", f"{bucket}/{names.state_key}.tflock"),
            ),
            Statement(
                sid="StateLockTable",
                actions=(
                    "dynamodb:DeleteItem",
                    "dynamodb:DescribeTable",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                ),
                resources=(
                    f"arn:aws:dynamodb:{settings.primary_region}:{account}:table/{names.lock_table}",
                ),
            ),
            Statement(
                sid="StateKey",
                actions=("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"),
                resources=(state_key_arn,),
            ),
            # --- KMS: the multi-region data key, its replicas and alias -------------
            # CreateKey has no resource-level permission ("*" only); it must carry the app tag.
            Statement(
                sid="KmsCreateTaggedKey",
                actions=("kms:CreateKey",),
                resources=("*",),
                conditions=request_tagged,
            ),
            Statement(
                sid="KmsTagOnCreate",
                actions=("kms:TagResource",),
                resources=arns("arn:aws:kms:{region}:{account}:key/*"),
                conditions=request_tagged,
            ),
            Statement(
                sid="KmsManageAppKeys",
                actions=(
                    "kms:CreateAlias",
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:DeleteAlias",
                    "kms:DescribeKey",
                    "kms:EnableKeyRotation",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                    "kms:GetKeyPolicy",
                    "kms:GetKeyRotationStatus",
                    "kms:ListResourceTags",
                    "kms:PutKeyPolicy",
                    "kms:ReplicateKey",
                    "kms:ScheduleKeyDeletion",
                    "kms:UntagResource",
                    "kms:UpdateAlias",
                    "kms:UpdateKeyDescription",
                ),
                resources=arns("arn:aws:kms:{region}:{account}:key/*"),
                conditions=tagged,
            ),
            Statement(
                sid="KmsAppAliases",
                actions=("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"),
                resources=arns(f"arn:aws:kms:{{region}}:{{account}}:{names.data_key_alias}"),
            ),
            # ListAliases has no resource-level permission.
            Statement(sid="KmsListAliases", actions=("kms:ListAliases",), resources=("*",)),
            # --- DynamoDB: the global table and its replicas --------------------------
            # Adding a replica needs the item actions too (DynamoDB copies the data).
            Statement(
                sid="GlobalTable",
                actions=(
                    "dynamodb:BatchWriteItem",
                    "dynamodb:CreateTable",
                    "dynamodb:CreateTableReplica",
                    "dynamodb:DeleteItem",
                    "dynamodb:DeleteTable",
                    "dynamodb:DeleteTableReplica",
                    "dynamodb:DescribeContinuousBackups",
                    "dynamodb:DescribeTable",
                    "dynamodb:DescribeTimeToLive",
                    "dynamodb:GetItem",
                    "dynamodb:ListTagsOfResource",
                    "dynamodb:PutItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                    "dynamodb:TagResource",
                    "dynamodb:UntagResource",
                    "dynamodb:UpdateContinuousBackups",
                    "dynamodb:UpdateItem",
                    "dynamodb:UpdateTable",
                ),
                resources=arns(table) + arns(f"{table}/index/*"),
            ),
            # Application Auto Scaling has no resource-level permissions for these.
            Statement(
                sid="TableAutoscaling",
                actions=(
                    "application-autoscaling:DeleteScalingPolicy",
                    "application-autoscaling:DeregisterScalableTarget",
                    "application-autoscaling:DescribeScalableTargets",
                    "application-autoscaling:DescribeScalingPolicies",
                    "application-autoscaling:ListTagsForResource",
                    "application-autoscaling:PutScalingPolicy",
                    "application-autoscaling:RegisterScalableTarget",
                    "application-autoscaling:TagResource",
                    "application-autoscaling:UntagResource",
                ),
                resources=("*",),
            ),
        ],
        # Roles, functions, logs, the API and its certificates.
        "compute": [
            # --- IAM: the functions' roles and API Gateway's logging role (exact names) ---
            Statement(
                sid="AppRoles",
                actions=(
                    "iam:AttachRolePolicy",
                    "iam:CreateRole",
                    "iam:DeleteRole",
                    "iam:DeleteRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListInstanceProfilesForRole",
                    "iam:ListRolePolicies",
                    "iam:PutRolePolicy",
                    "iam:TagRole",
                    "iam:UntagRole",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:UpdateRole",
                ),
                resources=role_arns,
            ),
            Statement(
                sid="PassAppRoles",
                actions=("iam:PassRole",),
                resources=role_arns,
                conditions=(
                    Condition(
                        "StringEquals",
                        "iam:PassedToService",
                        ("apigateway.amazonaws.com", "lambda.amazonaws.com"),
                    ),
                ),
            ),
            Statement(
                sid="ServiceLinkedRoles",
                actions=("iam:CreateServiceLinkedRole",),
                resources=(f"arn:aws:iam::{account}:role/aws-service-role/*",),
                conditions=(
                    Condition("StringEquals", "iam:AWSServiceName", SERVICE_LINKED_ROLE_SERVICES),
                ),
            ),
            # --- Lambda: the three functions, versions, alias, permissions -------------
            Statement(
                sid="Functions",
                actions=(
                    "lambda:AddPermission",
                    "lambda:CreateAlias",
                    "lambda:CreateFunction",
                    "lambda:DeleteAlias",
                    "lambda:DeleteFunction",
                    "lambda:DeleteProvisionedConcurrencyConfig",
                    "lambda:GetAlias",
                    "lambda:GetFunction",
                    "lambda:GetFunctionCodeSigningConfig",
                    "lambda:GetFunctionConfiguration",
                    "lambda:GetPolicy",
                    "lambda:GetProvisionedConcurrencyConfig",
                    "lambda:GetRuntimeManagementConfig",
                    "lambda:ListTags",
                    "lambda:ListVersionsByFunction",
                    "lambda:PublishVersion",
                    "lambda:PutProvisionedConcurrencyConfig",
                    "lambda:RemovePermission",
                    "lambda:TagResource",
                    "lambda:UntagResource",
                    "lambda:UpdateAlias",
                    "lambda:UpdateFunctionCode",
                    "lambda:UpdateFunctionConfiguration",
                ),
                resources=arns("arn:aws:lambda:{region}:{account}:function:{app}-*")
                + arns("arn:aws:lambda:{region}:{account}:function:{app}-*:*"),
            ),
            # --- CloudWatch Logs: function, access, execution and WAF log groups -------
            Statement(
                sid="LogGroups",
                actions=(
                    "logs:AssociateKmsKey",
                    "logs:CreateLogGroup",
                    "logs:DeleteLogGroup",
                    "logs:DeleteRetentionPolicy",
                    "logs:DisassociateKmsKey",
                    "logs:ListTagsForResource",
                    "logs:ListTagsLogGroup",
                    "logs:PutRetentionPolicy",
                    "logs:TagResource",
                    "logs:UntagResource",
                ),
                resources=arns("arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{app}-*")
                + arns("arn:aws:logs:{region}:{account}:log-group:/aws/apigateway/{app}-*")
                + arns("arn:aws:logs:{region}:{account}:log-group:API-Gateway-Execution-Logs_*")
                + arns("arn:aws:logs:{region}:{account}:log-group:aws-waf-logs-{app}-*"),
            ),
            Statement(
                sid="DescribeLogGroups",
                actions=("logs:DescribeLogGroups",),
                resources=arns("arn:aws:logs:{region}:{account}:log-group:*"),
            ),
            # WAF log delivery: these Logs actions have no resource-level permissions.
            Statement(
                sid="WafLogDelivery",
                actions=(
                    "logs:CreateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:DescribeResourcePolicies",
                    "logs:GetLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:UpdateLogDelivery",
                ),
                resources=("*",),
            ),
            # --- API Gateway: REST APIs (ids are random), custom domains, account setting ---
            Statement(
                sid="ApiGateway",
                actions=(
                    "apigateway:DELETE",
                    "apigateway:GET",
                    "apigateway:PATCH",
                    "apigateway:POST",
                    "apigateway:PUT",
                ),
                resources=arns("arn:aws:apigateway:{region}::/restapis")
                + arns("arn:aws:apigateway:{region}::/restapis/*")
                + arns(f"arn:aws:apigateway:{{region}}::/domainnames/{api_domain}")
                + arns(f"arn:aws:apigateway:{{region}}::/domainnames/{api_domain}/*")
                + arns("arn:aws:apigateway:{region}::/domainnames")
                + arns("arn:aws:apigateway:{region}::/account")
                + arns("arn:aws:apigateway:{region}::/tags/*"),
            ),
            Statement(
                sid="WafOnStages",
                actions=("apigateway:SetWebACL",),
                resources=arns("arn:aws:apigateway:{region}::/restapis/*/stages/*"),
            ),
            # --- ACM: one certificate per region for api.<domain> ------------------------
            # RequestCertificate accepts only "*"; it must carry the app tag.
            Statement(
                sid="RequestCertificate",
                actions=("acm:AddTagsToCertificate", "acm:RequestCertificate"),
                resources=("*",),
                conditions=request_tagged,
            ),
            Statement(
                sid="Certificates",
                actions=(
                    "acm:DeleteCertificate",
                    "acm:DescribeCertificate",
                    "acm:ListTagsForCertificate",
                    "acm:RemoveTagsFromCertificate",
                ),
                resources=arns("arn:aws:acm:{region}:{account}:certificate/*"),
                conditions=tagged,
            ),
        ],
        # WAF, alarms, DNS and health checks.
        "edge": [
            # --- WAF: the web ACL per region, its association and logging ----------------
            Statement(
                sid="WebAcl",
                actions=(
                    "wafv2:AssociateWebACL",
                    "wafv2:CreateWebACL",
                    "wafv2:DeleteLoggingConfiguration",
                    "wafv2:DeleteWebACL",
                    "wafv2:DisassociateWebACL",
                    "wafv2:GetLoggingConfiguration",
                    "wafv2:GetWebACL",
                    "wafv2:GetWebACLForResource",
                    "wafv2:ListTagsForResource",
                    "wafv2:PutLoggingConfiguration",
                    "wafv2:TagResource",
                    "wafv2:UntagResource",
                    "wafv2:UpdateWebACL",
                ),
                resources=arns("arn:aws:wafv2:{region}:{account}:regional/webacl/{app}-*/*")
                + arns("arn:aws:wafv2:{region}:{account}:regional/managedruleset/*/*")
                + arns("arn:aws:apigateway:{region}::/restapis/*/stages/*"),
            ),
            # --- SNS: alarm topics and their e-mail subscriptions -------------------------
            Statement(
                sid="AlarmTopics",
                actions=(
                    "sns:CreateTopic",
                    "sns:DeleteTopic",
                    "sns:GetSubscriptionAttributes",
                    "sns:GetTopicAttributes",
                    "sns:ListTagsForResource",
                    "sns:SetSubscriptionAttributes",
                    "sns:SetTopicAttributes",
                    "sns:Subscribe",
                    "sns:TagResource",
                    "sns:Unsubscribe",
                    "sns:UntagResource",
                ),
                resources=arns("arn:aws:sns:{region}:{account}:{app}-*"),
            ),
            # --- CloudWatch: alarms and dashboards ----------------------------------------
            Statement(
                sid="Alarms",
                actions=(
                    "cloudwatch:DeleteAlarms",
                    "cloudwatch:DescribeAlarms",
                    "cloudwatch:ListTagsForResource",
                    "cloudwatch:PutMetricAlarm",
                    "cloudwatch:TagResource",
                    "cloudwatch:UntagResource",
                ),
                resources=arns("arn:aws:cloudwatch:{region}:{account}:alarm:{app}-*"),
            ),
            Statement(
                sid="Dashboards",
                actions=(
                    "cloudwatch:DeleteDashboards",
                    "cloudwatch:GetDashboard",
                    "cloudwatch:PutDashboard",
                ),
                resources=(f"arn:aws:cloudwatch::{account}:dashboard/{app}-*",),
            ),
            # --- Route 53: api.<domain> records in the one hosted zone --------------------
            Statement(
                sid="ApiRecords",
                actions=("route53:ChangeResourceRecordSets",),
                resources=(f"arn:aws:route53:::hostedzone/{settings.hosted_zone_id}",),
                conditions=(
                    Condition(
                        "ForAllValues:StringLike",
                        "route53:ChangeResourceRecordSetsNormalizedRecordNames",
                        (api_domain, f"_*.{api_domain}"),
                    ),
                ),
            ),
            Statement(
                sid="HostedZone",
                actions=(
                    "route53:CreateTrafficPolicyInstance",
                    "route53:GetHostedZone",
                    "route53:ListResourceRecordSets",
                ),
                resources=(f"arn:aws:route53:::hostedzone/{settings.hosted_zone_id}",),
            ),
            Statement(
                sid="Route53Changes",
                actions=("route53:GetChange",),
                resources=("arn:aws:route53:::change/*",),
            ),
            # Health checks and traffic policies: Create* accept only "*"; ids are random.
            Statement(
                sid="CreateHealthChecksAndPolicies",
                actions=("route53:CreateHealthCheck", "route53:CreateTrafficPolicy"),
                resources=("*",),
            ),
            Statement(
                sid="HealthChecks",
                actions=(
                    "route53:ChangeTagsForResource",
                    "route53:DeleteHealthCheck",
                    "route53:GetHealthCheck",
                    "route53:GetHealthCheckStatus",
                    "route53:ListTagsForResource",
                    "route53:UpdateHealthCheck",
                ),
                resources=("arn:aws:route53:::healthcheck/*",),
            ),
            Statement(
                sid="TrafficPolicies",
                actions=(
                    "route53:CreateTrafficPolicyInstance",
                    "route53:CreateTrafficPolicyVersion",
                    "route53:DeleteTrafficPolicy",
                    "route53:DeleteTrafficPolicyInstance",
                    "route53:GetTrafficPolicy",
                    "route53:GetTrafficPolicyInstance",
                    "route53:UpdateTrafficPolicyComment",
                    "route53:UpdateTrafficPolicyInstance",
                ),
                resources=(
                    "arn:aws:route53:::trafficpolicy/*",
                    "arn:aws:route53:::trafficpolicyinstance/*",
                ),
            ),
        ],
    }


class DeployRole(Construct):
    """Owns GitHub's OIDC provider (or reads it) and the deploy role with its policy."""

    def __init__(
        self, scope: Construct, id_: str, *, settings: Settings, account: str, state_key_arn: str
    ) -> None:
        super().__init__(scope, id_)
        url = f"https://{GITHUB_OIDC_HOST}"
        if settings.deploy.create_oidc_provider:
            provider_arn = IamOpenidConnectProvider(
                self, "github_oidc", url=url, client_id_list=[GITHUB_OIDC_AUDIENCE]
            ).arn
        else:
            provider_arn = DataAwsIamOpenidConnectProvider(self, "github_oidc", url=url).arn
        trust = policy_document(
            self,
            "trust",
            [
                # GitHub's token for this repository's branch or environment, for STS.
                Statement(
                    sid="GitHubActions",
                    actions=("sts:AssumeRoleWithWebIdentity",),
                    principals={"Federated": (provider_arn,)},
                    conditions=(
                        Condition(
                            "StringEquals", f"{GITHUB_OIDC_HOST}:aud", (GITHUB_OIDC_AUDIENCE,)
                        ),
                        Condition("StringEquals", f"{GITHUB_OIDC_HOST}:sub", subjects(settings)),
                    ),
                )
            ],
        )
        self.role = IamRole(
            self,
            "role",
            name=settings.names.deploy_role,
            description=f"{settings.names.app}: deploys from GitHub Actions "
            f"({settings.deploy.github_repository})",
            assume_role_policy=trust.json,
            max_session_duration=MAX_SESSION_SECONDS,
        )
        parts = deploy_statements(settings, account, state_key_arn)
        # The role may never change its own trust or permissions.
        parts["state-data"].append(
            Statement(
                sid="DenySelfChange",
                effect="Deny",
                actions=(
                    "iam:AttachRolePolicy",
                    "iam:CreatePolicyVersion",
                    "iam:DeleteRole",
                    "iam:DeleteRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:PutRolePermissionsBoundary",
                    "iam:PutRolePolicy",
                    "iam:SetDefaultPolicyVersion",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:UpdateRole",
                ),
                resources=(
                    self.role.arn,
                    f"arn:aws:iam::{account}:policy/{settings.names.deploy_role}-*",
                ),
            )
        )
        for part, statements in parts.items():
            policy_id = part.replace("-", "_")
            managed = IamPolicy(
                self,
                f"{policy_id}_policy",
                name=f"{settings.names.deploy_role}-{part}",
                description=f"{settings.names.app} deploy role: {part}",
                policy=policy_document(self, f"{policy_id}_access", statements).json,
            )
            IamRolePolicyAttachment(
                self, f"{policy_id}_attachment", role=self.role.name, policy_arn=managed.arn
            )
