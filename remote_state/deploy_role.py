"""DeployRole: GitHub's OIDC identity provider and the role a workflow assumes to deploy.

Created only with settings `[deploy] github_repository = "owner/name"`. Only jobs
in that repository's GitHub environment `deploy.environment` can assume it,
through GitHub's OIDC tokens: no stored keys, and every deploy passes the
environment's required reviewers (docs/pipeline.md).

How the action list was built: by hand, not from a recording. For every
resource type the two stacks synthesize (and for the Terraform S3 backend),
the create, read, update, delete and tagging calls the AWS provider makes for
it, checked against the Service Authorization Reference for the resource types
and condition keys each action accepts. Every statement says what it is for.
Resources are the app's own names wherever the action accepts a resource ARN
(exact names, never a bare `<app>-*` that a second deployment `<app>-staging`
would match), the app tag where the service authorizes by it (API Gateway,
ACM), and "*" only where AWS accepts nothing else (the statement says so).

Closed to escalation (tests/infra/test_deploy_role_escalation.py asks a real IAM
evaluator): the root stack's roles may be created or changed only with the
boundary policy this construct creates (`iam:PermissionsBoundary`), may get only
the one AWS managed policy the stack attaches (`iam:PolicyARN`), and no trust
policy may be rewritten; the role cannot change itself, the boundary or the state
key; the app's KMS keys grant it administration in their own key policy, so no
tag the role can set reaches a key.
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

from epoch_blocks.app_boundary import APIGW_LOGS_POLICY, boundary_arn, boundary_statements
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
    """The OIDC `sub` claims allowed to assume the role: jobs in the GitHub environment
    only (its required reviewers and deployment-branch rule gate every deploy)."""
    repo, deploy = settings.deploy.github_repository, settings.deploy
    return [f"repo:{repo}:environment:{deploy.environment}"]


def escalation_denials(
    settings: Settings, account: str, state_key_arn: str, own_arns: tuple[str, ...]
) -> list[Statement]:
    """Explicit denies: what no other statement, present or future, may open up."""
    names = settings.names
    return [
        # The role may never change its own trust or permissions.
        Statement(
            sid="DenySelfChange",
            effect="Deny",
            actions=(
                "iam:AttachRolePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:DeleteRole",
                "iam:DeleteRolePermissionsBoundary",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
                "iam:SetDefaultPolicyVersion",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
            ),
            resources=(*own_arns, boundary_arn(names, account)),
        ),
        # No role in the account loses its boundary, and no trust policy is rewritten:
        # IAM has no condition key on a trust policy's content, and the root stack's
        # trust policies never change (a change is a new role, made with CreateRole).
        Statement(
            sid="DenyBoundaryRemovalAndTrustRewrite",
            effect="Deny",
            actions=("iam:DeleteRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy"),
            resources=(f"arn:aws:iam::{account}:role/*",),
        ),
        # The bootstrap stack's key: use only (state), never administration.
        Statement(
            sid="DenyStateKeyAdministration",
            effect="Deny",
            actions=(
                "kms:CancelKeyDeletion",
                "kms:CreateAlias",
                "kms:CreateGrant",
                "kms:DeleteAlias",
                "kms:DisableKey",
                "kms:DisableKeyRotation",
                "kms:EnableKey",
                "kms:PutKeyPolicy",
                "kms:ReplicateKey",
                "kms:RetireGrant",
                "kms:RevokeGrant",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateAlias",
                "kms:UpdateKeyDescription",
                "kms:UpdatePrimaryRegion",
            ),
            resources=(state_key_arn,),
        ),
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
    bounded = (
        Condition("StringEquals", "iam:PermissionsBoundary", (boundary_arn(names, account),)),
    )

    def arns(*patterns: str) -> tuple[str, ...]:
        # Any region: one ARN per resource pattern keeps each policy under IAM's
        # 6,144-character limit at any region count; the names stay the app's own.
        return tuple(p.format(region="*", account=account, app=app) for p in patterns)

    # Exact names, or a prefix followed by a fixed part: `<app>-*` would also match a
    # second deployment named `<app>-staging`.
    functions = tuple(names.function(f) for f in contract.FUNCTION_HANDLERS)
    table = f"arn:aws:dynamodb:{{region}}:{{account}}:table/{names.table}"
    bucket = f"arn:aws:s3:::{names.state_bucket}"
    role_arns = tuple(
        f"arn:aws:iam::{account}:role/{name}" for name in (*functions, names.apigateway_logs_role)
    )
    logs_role_arn = f"arn:aws:iam::{account}:role/{names.apigateway_logs_role}"
    api_domain = names.api_domain
    restapis = "arn:aws:apigateway:{region}::/restapis"
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
            # CreateKey has no resource-level permission ("*" only); it must carry the
            # app tag. Everything else on the app's keys is granted by their own key
            # policy (epoch_blocks/encryption_policy.py), not here: a tag grants nothing.
            Statement(
                sid="KmsCreateTaggedKey",
                actions=("kms:CreateKey",),
                resources=("*",),
                conditions=request_tagged,
            ),
            # CreateKey with tags needs TagResource in an identity policy.
            Statement(
                sid="KmsTagOnCreate",
                actions=("kms:TagResource",),
                resources=arns("arn:aws:kms:{region}:{account}:key/*"),
                conditions=request_tagged,
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
                resources=arns(table, f"{table}/index/*"),
            ),
            # Scalable target ids are random: any target, of DynamoDB only.
            Statement(
                sid="TableAutoscaling",
                actions=(
                    "application-autoscaling:DeleteScalingPolicy",
                    "application-autoscaling:DeregisterScalableTarget",
                    "application-autoscaling:ListTagsForResource",
                    "application-autoscaling:PutScalingPolicy",
                    "application-autoscaling:RegisterScalableTarget",
                    "application-autoscaling:TagResource",
                    "application-autoscaling:UntagResource",
                ),
                resources=arns(
                    "arn:aws:application-autoscaling:{region}:{account}:scalable-target/*"
                ),
                conditions=(
                    Condition(
                        "StringEqualsIfExists",
                        "application-autoscaling:service-namespace",
                        ("dynamodb",),
                    ),
                ),
            ),
            # The Describe calls have no resource-level permissions.
            Statement(
                sid="DescribeAutoscaling",
                actions=(
                    "application-autoscaling:DescribeScalableTargets",
                    "application-autoscaling:DescribeScalingPolicies",
                ),
                resources=("*",),
            ),
        ],
        # Roles, functions, logs, the API and its certificates.
        "compute": [
            # --- IAM: the functions' roles and API Gateway's logging role (exact names) ---
            Statement(
                sid="ReadAppRoles",
                actions=(
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListInstanceProfilesForRole",
                    "iam:ListRolePolicies",
                    "iam:TagRole",
                    "iam:UntagRole",
                ),
                resources=role_arns,
            ),
            # Every change to an app role only while it carries (or is given) the
            # boundary, which caps it whatever its own policies say.
            Statement(
                sid="BoundedAppRoles",
                actions=(
                    "iam:CreateRole",
                    "iam:DeleteRole",
                    "iam:DeleteRolePolicy",
                    "iam:PutRolePermissionsBoundary",
                    "iam:PutRolePolicy",
                    "iam:UpdateRole",
                ),
                resources=role_arns,
                conditions=bounded,
            ),
            # The one managed policy the stack attaches, to the one role it goes on.
            Statement(
                sid="AttachLoggingPolicy",
                actions=("iam:AttachRolePolicy", "iam:DetachRolePolicy"),
                resources=(logs_role_arn,),
                conditions=(
                    *bounded,
                    Condition("ArnEquals", "iam:PolicyARN", (APIGW_LOGS_POLICY,)),
                ),
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
                resources=arns(
                    *(f"arn:aws:lambda:{{region}}:{{account}}:function:{f}" for f in functions),
                    *(f"arn:aws:lambda:{{region}}:{{account}}:function:{f}:*" for f in functions),
                ),
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
                resources=arns(
                    *(
                        f"arn:aws:logs:{{region}}:{{account}}:log-group:{names.log_group(f)}"
                        for f in contract.FUNCTION_HANDLERS
                    ),
                    f"arn:aws:logs:{{region}}:{{account}}:log-group:/aws/apigateway/{names.api}/*",
                    "arn:aws:logs:{region}:{account}:log-group:API-Gateway-Execution-Logs_*",
                    f"arn:aws:logs:{{region}}:{{account}}:log-group:aws-waf-logs-{names.api}",
                ),
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
            # --- API Gateway: the app's REST APIs by their app tag (ids are random) ----
            Statement(
                sid="CreateApi",
                actions=("apigateway:POST",),
                resources=arns(restapis),
                conditions=request_tagged,
            ),
            Statement(sid="ListApis", actions=("apigateway:GET",), resources=arns(restapis)),
            # API Gateway authorizes a REST API's child resources (stages, deployments,
            # methods, tags) by the tags of the REST API they belong to.
            Statement(
                sid="AppApis",
                actions=(
                    "apigateway:DELETE",
                    "apigateway:GET",
                    "apigateway:PATCH",
                    "apigateway:POST",
                    "apigateway:PUT",
                    "apigateway:SetWebACL",
                ),
                resources=arns(f"{restapis}/*", "arn:aws:apigateway:{region}::/tags/*"),
                conditions=tagged,
            ),
            Statement(
                sid="ApiDomainAndAccount",
                actions=(
                    "apigateway:DELETE",
                    "apigateway:GET",
                    "apigateway:PATCH",
                    "apigateway:POST",
                    "apigateway:PUT",
                ),
                resources=arns(
                    f"arn:aws:apigateway:{{region}}::/domainnames/{api_domain}",
                    f"arn:aws:apigateway:{{region}}::/domainnames/{api_domain}/*",
                    "arn:aws:apigateway:{region}::/domainnames",
                    "arn:aws:apigateway:{region}::/account",
                ),
            ),
            # --- ACM: one certificate per region for api.<domain> ------------------------
            # RequestCertificate accepts only "*": it must name api.<domain> alone and
            # carry the app tag.
            Statement(
                sid="RequestCertificate",
                actions=("acm:RequestCertificate",),
                resources=("*",),
                conditions=(
                    *request_tagged,
                    Condition("ForAllValues:StringEquals", "acm:DomainNames", (api_domain,)),
                ),
            ),
            # Only certificates that already carry the app tag: the role cannot tag
            # another certificate into its scope.
            Statement(
                sid="Certificates",
                actions=(
                    "acm:AddTagsToCertificate",
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
                resources=arns(
                    f"arn:aws:wafv2:{{region}}:{{account}}:regional/webacl/{names.api}/*",
                    "arn:aws:wafv2:{region}:{account}:regional/managedruleset/*/*",
                    "arn:aws:apigateway:{region}::/restapis/*/stages/*",
                ),
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
                resources=arns(
                    f"arn:aws:sns:{{region}}:{{account}}:{names.alarm_topic}",
                    f"arn:aws:sns:{{region}}:{{account}}:{names.alarm_topic}-route53",
                ),
            ),
            # --- CloudWatch: alarms and dashboards, named <app>-<region>... ---------------
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
                # Any ARN region: us-east-1 holds every region's health-check alarm.
                resources=tuple(
                    f"arn:aws:cloudwatch:*:{account}:alarm:{app}-{region}-*"
                    for region in settings.regions
                ),
            ),
            Statement(
                sid="Dashboards",
                actions=(
                    "cloudwatch:DeleteDashboards",
                    "cloudwatch:GetDashboard",
                    "cloudwatch:PutDashboard",
                ),
                resources=tuple(
                    f"arn:aws:cloudwatch::{account}:dashboard/{names.dashboard_prefix}-{region}"
                    for region in settings.regions
                ),
            ),
            # --- X-Ray: the health function's sampling rule per region --------------------
            Statement(
                sid="SamplingRules",
                actions=(
                    "xray:CreateSamplingRule",
                    "xray:DeleteSamplingRule",
                    "xray:ListTagsForResource",
                    "xray:TagResource",
                    "xray:UntagResource",
                    "xray:UpdateSamplingRule",
                ),
                resources=arns(
                    f"arn:aws:xray:{{region}}:{{account}}:sampling-rule/{names.function('health')}"
                ),
            ),
            # GetSamplingRules has no resource-level permission.
            Statement(
                sid="ReadSamplingRules", actions=("xray:GetSamplingRules",), resources=("*",)
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
            # Health checks and traffic policies: Create* and List* accept only "*";
            # ids are random and Route 53 authorizes no tag.
            Statement(
                sid="CreateHealthChecksAndPolicies",
                actions=(
                    "route53:CreateHealthCheck",
                    "route53:CreateTrafficPolicy",
                    "route53:ListTrafficPolicies",
                ),
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
                    "route53:ListTrafficPolicyVersions",
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
                # GitHub's token for a job in this repository's environment, for STS.
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
        own_arns = (self.role.arn, f"arn:aws:iam::{account}:policy/{settings.names.deploy_role}-*")
        parts["state-data"].extend(escalation_denials(settings, account, state_key_arn, own_arns))
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
        # The root stack's roles carry this boundary; only this admin-applied stack
        # can change it (the deploy role is denied every change to it).
        IamPolicy(
            self,
            "app_boundary",
            name=settings.names.app_boundary,
            description=f"{settings.names.app}: permissions boundary of the root stack's roles",
            policy=policy_document(
                self, "app_boundary_policy", boundary_statements(settings.names, account)
            ).json,
        )
