"""The emulator process: starts on a free loopback port, names the zone as told, stops cleanly."""

from __future__ import annotations

import socket
from pathlib import Path

import boto3
import pytest

from rehearsal.emulator import Emulator, EmulatorError
from rehearsal.shims import MOTO_VERSION


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


def test_on_another_moto_the_emulator_stops_at_start_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A distribution record earlier on the path makes moto look like another version.
    record = tmp_path / "site" / "moto-5.3.0.dist-info"
    record.mkdir(parents=True)
    (record / "METADATA").write_text("Metadata-Version: 2.1\nName: moto\nVersion: 5.3.0\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    emulator = Emulator(zones={}, log=tmp_path / "emu.log")
    with pytest.raises(EmulatorError) as refused:
        emulator.start()
    assert str(refused.value) == (
        f"the emulator exited with code 2 at start: moto 5.3.0 is installed, but the "
        f"rehearsal's emulator patches were written for moto {MOTO_VERSION}: run "
        f"`pipenv sync --dev` (the Pipfile pins moto=={MOTO_VERSION}); see {tmp_path / 'emu.log'}"
    )
    assert not emulator.running
