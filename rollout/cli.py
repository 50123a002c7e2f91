"""Command line of `pipenv run rollout`.

Exit codes: 0 rolled out (or nothing to roll out), 1 a bake failed and the rollout was
rolled back (or it stopped before a region whose alarm was already firing), 2 the
inputs are wrong or AWS cannot be reached (one line on stderr), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import replace
from types import FrameType

from rollout.aws import AwsError, RegionAws, credentials_problem
from rollout.engine import Engine, RolloutFailedError, _duration
from rollout.plan import Plan, plan_from_outputs
from rollout.status import status_lines
from rollout.synthetic import check_region
from verify.arguments import OneLineParser, seconds
from verify.inputs import (
    InputError,
    add_outputs_options,
    check_url,
    outputs_from_file,
    outputs_from_terraform,
    parse_pair,
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = OneLineParser(
        prog="pipenv run rollout",
        description="Move each region's live alias to the newest Lambda versions, one region "
        "at a time (canary share, bake, automatic rollback). Needs rollout.mode = canary.",
    )
    source = parser.add_mutually_exclusive_group()
    add_outputs_options(source)
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--status", action="store_true", help="show what each region serves, then exit"
    )
    what.add_argument(
        "--rollback",
        action="store_true",
        help="return every region the rollout moved to the version it served before",
    )
    parser.add_argument(
        "--region",
        action="append",
        default=[],
        help="only this region (repeat for several; the rollout order stays the settings')",
    )
    parser.add_argument(
        "--region-endpoint",
        action="append",
        default=[],
        metavar="REGION=URL",
        help="run the synthetic check against URL instead of the region's endpoint output",
    )
    parser.add_argument(
        "--bake-seconds",
        type=seconds(3600),
        help="bake time per step instead of rollout.bake_seconds (rehearsals and tests: "
        "shorter than 300 s, an alarm cannot fire within the bake)",
    )
    return parser.parse_args(argv)


def load_plan(args: argparse.Namespace) -> Plan:
    if args.terraform_dir is not None:
        outputs, source = outputs_from_terraform(args.terraform_dir), str(args.terraform_dir)
    elif args.outputs_file is not None:
        outputs, source = outputs_from_file(args.outputs_file), str(args.outputs_file)
    else:
        raise InputError(
            "say where the deployment is: --terraform-dir cdktf.out/stacks/epoch-register "
            "or --outputs-file FILE"
        )
    plan = plan_from_outputs(outputs, source)
    known = [r.region for r in plan.regions]
    unknown = [r for r in args.region if r not in known]
    if unknown:
        raise InputError(
            f"--region {unknown[0]} is not a region of this deployment ({', '.join(known)})"
        )
    return plan


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if threading.current_thread() is not threading.main_thread():
        return _run(args)
    # A cancelled CI job gets SIGINT, then SIGTERM: both stop as Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    engine: Engine | None = None
    try:
        plan = load_plan(args)
        endpoints: dict[str, str] = {}
        for raw in args.region_endpoint:
            region, url = parse_pair(raw, "--region-endpoint")
            if region not in [r.region for r in plan.regions]:
                raise InputError(f"--region-endpoint: {region} is not a region of this deployment")
            endpoints[region] = check_url(url, f"--region-endpoint {region}")
        if args.region:
            plan = replace(plan, regions=tuple(r for r in plan.regions if r.region in args.region))
        problem = credentials_problem()
        if problem is not None:
            raise InputError(problem)
        clients = {r.region: RegionAws(r.region) for r in plan.regions}
        if args.status:
            for line in status_lines(plan, clients):
                print(line)
            return 0
        engine = Engine(
            plan=plan,
            aws=clients.__getitem__,
            check=check_region,
            log=lambda line: print(line, flush=True),
            bake_seconds=args.bake_seconds,
            endpoints=endpoints,
        )
        if args.rollback:
            moved, errors = engine.rollback()
            if errors:
                print(f"error: rollback incomplete: {'; '.join(errors)}", file=sys.stderr)
                return 1
            print(
                f"rolled back {len(moved)} alias(es)"
                if moved
                else "nothing to roll back: no alias serves a version a rollout moved it to"
            )
            return 0
        if engine.run() == 0:
            print(
                "nothing to roll out: every region's live alias already serves the newest "
                "versions (apply new code first)"
            )
        return 0
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RolloutFailedError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        where = engine.where if engine is not None else "before anything moved"
        print(
            f"interrupted {where}: every alias is where its last step put it; run again to "
            "resume, or --rollback to return to the versions served before",
            file=sys.stderr,
        )
        return 130


__all__ = ["_duration", "main"]
