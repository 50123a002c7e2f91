"""The canary rollout, rehearsed on the emulator for a variant with rollout.mode = "canary".

After the variant's deploy and second plan: the handler code changes (a real second
version, through the project's own synth and `terraform apply`), the apply publishes
it without moving any alias, and `pipenv run rollout` moves the regions one after the
other. Then, back on the first version (`--rollback`), a second rollout gets an alarm
forced into ALARM (SetAlarmState) during the second region's bake: it must roll back,
never put that region at 100 % and exit non-zero; a re-plan must still show no changes.

The synthetic check runs against one local-mode server per region (the real handlers
over dynalite): the emulator serves no execute-api endpoint (rehearsal/shims/execute_api.py).
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers import logs
from handlers.runtime import Settings as HandlerSettings
from handlers.runtime import data_client, health_client, make_handlers
from local_api.dynalite import Dynalite, ensure_table
from local_api.server import LocalApi
from rehearsal.deploy import StepError, VariantRun, synthesize
from rehearsal.emulator import PROJECT_ROOT

# Short bakes: the emulator's alarms change only when told to (SetAlarmState).
BAKE_SECONDS = 2.0
ROLLOUT_TIMEOUT = 300.0
APPLY_TIMEOUT = 900.0
# What the project's synth needs, copied so that the handler change stays out of the
# project folder.
PROJECT_PARTS = (
    "main.py",
    "cdktf.json",
    "epoch_app",
    "epoch_blocks",
    "epoch_constructs",
    "epoch_settings",
    "handlers",
    "remote_state",
)
CHANGED_HANDLER = Path("handlers") / "health.py"
ROOT_STACK = "epoch-register"


class RolloutStepError(StepError):
    """A rollout rehearsal step failed; the message says which and why."""


def wanted(settings: Mapping[str, Any]) -> bool:
    rollout = settings.get("rollout")
    return isinstance(rollout, dict) and rollout.get("mode") == "canary"


@dataclass
class Line:
    seconds: float
    text: str


@dataclass
class RolloutRun:
    code: int
    lines: list[Line]
    stderr: str
    forced: list[tuple[float, str]] = field(default_factory=list)

    def first(self, prefix: str) -> int:
        return next((i for i, line in enumerate(self.lines) if line.text.startswith(prefix)), -1)


def order_problem(lines: list[str], regions: list[str]) -> str | None:
    """Each region's first move must come after the region before it is done."""

    def first(prefix: str) -> int:
        return next((i for i, line in enumerate(lines) if line.startswith(prefix)), -1)

    for earlier, later in itertools.pairwise(regions):
        done, moved = first(f"[{earlier}] done:"), first(f"[{later}] step 1/")
        if done < 0 or moved < 0 or moved < done:
            return f"{later} moved (line {moved}) before {earlier} was done (line {done})"
    return None


class CanaryRehearsal:
    """The canary steps of one variant run (its emulator, workspace and settings)."""

    def __init__(self, run: VariantRun) -> None:
        self.run = run
        self.name = run.name
        self.regions = list(run.settings.get("rollout", {}).get("region_order") or run.regions)
        self.log = run.r.log
        self.timelines: dict[str, RolloutRun] = {}
        self.first_versions: dict[str, dict[str, str]] = {}

    def steps(self) -> None:
        step = self.run.r.step
        with step(self.name, "canary: synthesize a changed handler"):
            self.synthesize_changed()
        with step(self.name, "canary: apply it (no alias may move)"):
            before = self.live_versions()
            self.run.must(
                ROOT_STACK, ["apply", "-auto-approve", "-input=false", "-no-color"], APPLY_TIMEOUT
            )
            after = self.live_versions()
            if after != before:
                raise RolloutStepError(f"the apply moved live aliases: {before} -> {after}")
            self.log(f"[{self.name}]   live aliases unchanged: {self._short(after)}")
        with self.local_endpoints() as endpoints:
            with step(self.name, "canary: rollout, region by region"):
                self.happy(endpoints)
            with step(self.name, "canary: --rollback to the first version"):
                self.rollback_all(endpoints)
            with step(self.name, "canary: rollout, alarm forced in region 2"):
                self.forced_alarm(endpoints)
        with step(self.name, "canary: re-plan (must be 'No changes')"):
            self.run.second_plan()
        for label, timeline in self.timelines.items():
            self.log(f"[{self.name}]   timeline of the {label} (seconds from its start):")
            events = [(line.seconds, line.text) for line in timeline.lines]
            events += [
                (at, f"(harness) SetAlarmState {alarm} ALARM") for at, alarm in timeline.forced
            ]
            for seconds, text in sorted(events, key=lambda event: event[0]):
                if text.startswith(("[", "rollout", "(harness)")):
                    self.log(f"[{self.name}]     {seconds:6.2f}  {text}")
            if timeline.stderr.strip():
                self.log(f"[{self.name}]     exit {timeline.code}: {timeline.stderr.strip()}")

    # -- the second version ------------------------------------------------------

    def synthesize_changed(self) -> None:
        copy = self.run.workdir / "changed-project"
        for part in PROJECT_PARTS:
            source = PROJECT_ROOT / part
            if source.is_dir():
                shutil.copytree(source, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                copy.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, copy / part)
        handler = copy / CHANGED_HANDLER
        handler.write_text(
            handler.read_text(encoding="utf-8") + "\n# rehearsal: the second version\n",
            encoding="utf-8",
        )
        out = self.run.workdir / "cdktf.out.changed"
        try:
            synthesize(copy, self.run.settings_path, out)
        except StepError as error:
            raise RolloutStepError(f"with the changed handler: {error}") from None
        workspace = self.run.workspaces[ROOT_STACK].path
        source = out / "stacks" / ROOT_STACK
        shutil.rmtree(workspace / "assets", ignore_errors=True)
        shutil.copytree(source / "assets", workspace / "assets")
        shutil.copy2(source / "cdk.tf.json", workspace / "cdk.tf.json")

    def live_versions(self) -> dict[str, dict[str, str]]:
        """region -> function -> (alias version, weights) as text, read through boto3."""
        found: dict[str, dict[str, str]] = {}
        outputs = self.outputs()
        for region in self.regions:
            entry = outputs[f"{region.replace('-', '_')}_rollout"]
            lam = self.run.client("lambda", region)
            found[region] = {}
            for logical, function in sorted(entry["functions"].items()):
                alias = lam.get_alias(FunctionName=function["name"], Name=entry["alias"])
                weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
                found[region][logical] = alias["FunctionVersion"] + (
                    f"+{json.dumps(weights, sort_keys=True)}" if weights else ""
                )
        return found

    def newest(self) -> dict[str, dict[str, str]]:
        outputs = self.outputs()
        return {
            region: {
                logical: str(function["version"])
                for logical, function in sorted(
                    outputs[f"{region.replace('-', '_')}_rollout"]["functions"].items()
                )
            }
            for region in self.regions
        }

    def outputs(self) -> dict[str, Any]:
        result = self.run.must(ROOT_STACK, ["output", "-json", "-no-color"], 120.0)
        return {name: entry["value"] for name, entry in json.loads(result.stdout).items()}

    @staticmethod
    def _short(versions: Mapping[str, Mapping[str, str]]) -> str:
        return "; ".join(
            f"{region} " + ", ".join(f"{f} {v}" for f, v in functions.items())
            for region, functions in versions.items()
        )

    # -- the synthetic check's endpoints -------------------------------------------

    @contextmanager
    def local_endpoints(self) -> Iterator[dict[str, str]]:
        """One local-mode API per region over one dynalite table (the handlers' access
        logs are switched off: only their answers matter here)."""
        dynalite = Dynalite(self.run.workdir / "dynalite")
        servers: list[LocalApi] = []
        logger = logging.getLogger(logs.LOGGER_NAME)
        logger.disabled = True
        try:
            dynalite.start()
            table = "epoch-register-rollout-check"
            ensure_table(dynalite.endpoint_url, table, self.regions[0])
            endpoints = {}
            for region in self.regions:
                settings = HandlerSettings(
                    table_name=table, region=region, endpoint_url=dynalite.endpoint_url
                )
                data, health = data_client(settings), health_client(settings)
                api = LocalApi(make_handlers(settings, data, health), port=0).start()
                servers.append(api)
                endpoints[region] = api.url
            yield endpoints
        finally:
            for api in servers:
                api.stop()
            dynalite.stop()
            logger.disabled = False

    # -- the rollouts ----------------------------------------------------------------

    def rollout(
        self, endpoints: Mapping[str, str], *extra: str, force_in: str | None = None
    ) -> RolloutRun:
        """`python -m rollout` as a user runs it (against the emulator), each line timed;
        with `force_in`, the region's first gating alarm is set to ALARM as soon as its
        first bake starts."""
        workspace = self.run.workspaces[ROOT_STACK].path
        command = [
            sys.executable,
            "-m",
            "rollout",
            "--terraform-dir",
            str(workspace),
            "--bake-seconds",
            str(BAKE_SECONDS),
            *(f"--region-endpoint={region}={url}" for region, url in endpoints.items()),
            *extra,
        ]
        env = {**self.run.env(), "PYTHONUNBUFFERED": "1"}
        started = time.monotonic()
        child = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        result = RolloutRun(code=-1, lines=[], stderr="")
        alarm = (
            self.outputs()[f"{force_in.replace('-', '_')}_rollout"]["alarms"][0]
            if force_in
            else None
        )
        timer = threading.Timer(ROLLOUT_TIMEOUT, child.kill)
        timer.start()
        try:
            assert child.stdout is not None
            assert child.stderr is not None
            for raw in child.stdout:
                text = raw.rstrip("\n")
                result.lines.append(Line(round(time.monotonic() - started, 2), text))
                if (
                    alarm
                    and force_in
                    and text.startswith(f"[{force_in}] step 1/")
                    and " of traffic" in text
                ):
                    self.run.client("cloudwatch", force_in).set_alarm_state(
                        AlarmName=alarm, StateValue="ALARM", StateReason="rehearsal: forced"
                    )
                    result.forced.append((round(time.monotonic() - started, 2), alarm))
                    alarm = None
            result.stderr = child.stderr.read()
            result.code = child.wait()
        finally:
            timer.cancel()
        return result

    def happy(self, endpoints: Mapping[str, str]) -> None:
        before, newest = self.live_versions(), self.newest()
        result = self.rollout(endpoints)
        self.timelines["happy rollout"] = result
        if result.code != 0:
            raise RolloutStepError(f"rollout exited {result.code}: {result.stderr.strip()}")
        self.check_order(result)
        after = self.live_versions()
        if after != newest:
            raise RolloutStepError(f"after the rollout the aliases serve {after}, not {newest}")
        self.log(
            f"[{self.name}]   {self._short(before)} -> {self._short(after)}, regions in order "
            f"{', '.join(self.regions)}"
        )

    def check_order(self, result: RolloutRun) -> None:
        problem = order_problem([line.text for line in result.lines], self.regions)
        if problem is not None:
            raise RolloutStepError(problem)

    def rollback_all(self, endpoints: Mapping[str, str]) -> None:
        result = self.rollout(endpoints, "--rollback")
        if result.code != 0:
            raise RolloutStepError(f"--rollback exited {result.code}: {result.stderr.strip()}")
        self.first_versions = self.live_versions()
        self.log(f"[{self.name}]   {result.lines[-1].text}: {self._short(self.first_versions)}")

    def forced_alarm(self, endpoints: Mapping[str, str]) -> None:
        second = self.regions[1]
        result = self.rollout(endpoints, force_in=second)
        self.timelines["rollout with a forced alarm"] = result
        line = result.stderr.strip()
        if result.code == 0:
            raise RolloutStepError("the rollout passed although an alarm was forced into ALARM")
        if not result.forced:
            raise RolloutStepError(f"{second}'s bake never started: {line}")
        alarm = result.forced[0][1]
        if len(line.splitlines()) != 1 or second not in line or alarm not in line:
            raise RolloutStepError(
                f"the failure is not one line naming {second} and {alarm}: {line!r}"
            )
        if result.first(f"[{second}] step {len(self.shares(result))}/") >= 0:
            raise RolloutStepError(f"{second} reached 100 % although its alarm fired")
        after = self.live_versions()
        if after != self.first_versions:
            raise RolloutStepError(
                f"after the rollback the aliases serve {after}, not {self.first_versions}"
            )
        self.log(f"[{self.name}]   exit {result.code}; every region back on {self._short(after)}")
        self.run.client("cloudwatch", second).set_alarm_state(
            AlarmName=alarm, StateValue="OK", StateReason="rehearsal: reset"
        )

    @staticmethod
    def shares(result: RolloutRun) -> list[str]:
        """The steps the rollout announced in its first line (`steps 10 % → 100 %`)."""
        head = next((line.text for line in result.lines if line.text.startswith("rollout:")), "")
        return head.split("steps ", 1)[-1].split(",", 1)[0].split(" → ")
