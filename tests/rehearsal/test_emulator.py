"""The emulator process: starts on a free loopback port, names the zone as told, stops cleanly."""

from __future__ import annotations

import socket
from pathlib import Path

import boto3

from rehearsal.emulator import Emulator


def test_emulator_serves_on_loopback_gives_the_zone_its_id_and_stops(tmp_path: Path) -> None:
    emulator = Emulator(zones={"example.org": "Z0123456789TESTZONE"}, log=tmp_path / "emu.log")
    with emulator:
        assert emulator.url.startswith("http://127.0.0.1:")
        route53 = boto3.client(
            "route53",
            region_name="us-east-1",
            endpoint_url=emulator.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        zone = route53.create_hosted_zone(Name="example.org", CallerReference="t")["HostedZone"]
        assert zone["Id"].rsplit("/", 1)[-1] == "Z0123456789TESTZONE"
        assert emulator.running
    assert not emulator.running
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", emulator.port)) != 0
