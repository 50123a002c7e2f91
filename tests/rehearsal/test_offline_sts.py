"""rehearsal.offline_sts: a real STS client gets the fake identity, and nothing else."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from rehearsal.offline_sts import FAKE_ACCOUNT, OfflineSts


def test_caller_identity_is_the_fake_account_and_other_calls_are_refused() -> None:
    with OfflineSts() as sts:
        assert sts.url.startswith("http://127.0.0.1:")
        client = boto3.client(
            "sts",
            endpoint_url=sts.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        identity = client.get_caller_identity()
        assert identity["Account"] == FAKE_ACCOUNT
        assert identity["Arn"] == f"arn:aws:iam::{FAKE_ACCOUNT}:user/epoch-plan-gate"
        with pytest.raises(ClientError, match="answers GetCallerIdentity only"):
            client.get_session_token()
