"""Command line: inputs, which checks, the table or JSON, the exit code.

Exit codes: 0 every check passed (skips allowed, and said), 1 a check failed,
2 the inputs are wrong or unreachable (one line on stderr), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

from verify.arguments import OneLineParser, seconds
from verify.checks import CHECKS
from verify.client import Client, NetworkError, credentials_from_env
from verify.inputs import InputError, Target, add_outputs_options, build_target, parse_pair
from verify.run import FAIL, PASS, SKIP, Options, Result, Run, writes_needed

DEFAULT_CHECKS = tuple(CHECKS)


def _positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {raw!r}")
    return int(raw)


def _label(raw: str) -> str:
    if not raw or len(raw) > 40 or not all(c.isalnum() or c in "._:-" for c in raw):
        raise argparse.ArgumentTypeError(
            f"must be 1-40 characters of letters, digits and ._:- , not {raw!r}"
        )
    return raw


def _check_names(raw: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    unknown = [name for name in names if name not in CHECKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown check {', '.join(map(repr, unknown)) or repr(raw)}; "
            f"choose from {', '.join(CHECKS)}"
        )
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(
        prog="pipenv run verify",
        description="Verify a deployed EpochRegister API in every region (black-box).",
    )
    source = parser.add_argument_group("what to verify (options win over outputs)")
    source.add_argument("--api-url", help="the API's public URL, https://api.<domain>")
    source.add_argument(
        "--region-endpoint",
        action="append",
        default=[],
        metavar="REGION=URL",
        help="a region's own endpoint (output <region>_endpoint); repeat per region",
    )
    add_outputs_options(source)
    source.add_argument(
        "--health-check",
        action="append",
        default=[],
        metavar="REGION=ID",
        help="a region's Route 53 health check id (output <region>_health_check_id)",
    )
    source.add_argument(
        "--domain-target",
        action="append",
        default=[],
        metavar="REGION=HOST",
        help="a region's custom-domain target (d-….execute-api.<region>.amazonaws.com), "
        "to attribute alias-record answers of api.<domain> to regions",
    )
    run = parser.add_argument_group("how")
    run.add_argument(
        "--checks",
        type=_check_names,
        default=DEFAULT_CHECKS,
        help=f"comma-separated subset (default all: {','.join(CHECKS)})",
    )
    run.add_argument(
        "--timeout", type=seconds(600), default=10.0, help="per request, s (default 10)"
    )
    run.add_argument(
        "--max-writes",
        type=_positive_int,
        default=10,
        help="most registrations one run may send (default 10; a run needs regions x samples + 2)",
    )
    run.add_argument(
        "--key-label",
        type=_label,
        default="v1",
        help="idempotency keys are verify-<label>-…: the same label reuses the same entries "
        "(default v1); a new label makes fresh ones, to measure replication lag",
    )
    run.add_argument(
        "--replication-timeout",
        type=seconds(600),
        default=30.0,
        help="how long a registration may take to appear in another region, s (default 30)",
    )
    run.add_argument(
        "--replication-samples",
        type=_positive_int,
        default=1,
        help="registrations per region for the lag figures (default 1)",
    )
    run.add_argument(
        "--list-pages", type=_positive_int, default=3, help="pages to walk (default 3)"
    )
    run.add_argument("--list-limit", type=_positive_int, default=25, help="page size (default 25)")
    run.add_argument(
        "--dns-lookups", type=_positive_int, default=3, help="lookups of api.<domain> (default 3)"
    )
    run.add_argument(
        "--dns-require-all",
        action="store_true",
        help="fail unless every region was seen among the DNS answers",
    )
    run.add_argument("--ca-file", type=Path, help="extra CA bundle to trust (private CAs, tests)")
    run.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.list_limit > 100:
        parser.error("--list-limit must be 1-100 (the API's page size limit)")
    return args


def _reachable(target: Target, timeout: float, run: Run) -> None:
    """Every given URL answers HTTP at all; otherwise a one-line InputError."""
    urls = {**target.endpoints}
    if target.api_url is not None:
        urls["api"] = target.api_url
    for name, url in urls.items():
        client = Client(url, timeout=timeout, ssl_context=run.ssl_context)
        try:
            client.get("/")
        except NetworkError as exc:
            if "certificate" in str(exc):
                continue  # reachable; the tls check reports the certificate
            what = "--api-url" if name == "api" else f"{name} endpoint"
            host = urlsplit(url).netloc
            raise InputError(
                f"{what} {url} is unreachable ({host}): {str(exc).split(': ', 1)[-1]}"
            ) from None


def render_table(results: list[Result]) -> str:
    rows = [("check", "scope", "result", "detail", "figures")]
    for r in results:
        figures = " ".join(f"{k}={v}" for k, v in r.figures.items())
        rows.append((r.check, r.scope, r.status.upper(), r.detail, figures))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(4)] + [row[4]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def summary(results: list[Result]) -> tuple[bool, str]:
    failed = [r for r in results if r.status == FAIL]
    skipped = [r for r in results if r.status == SKIP]
    passed = [r for r in results if r.status == PASS]
    text = f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped"
    if failed:
        names = sorted({f"{r.check} ({r.scope})" for r in failed})
        text += ": FAILED " + ", ".join(names)
    elif skipped:
        text += " (skips do not fail the run)"
    return not failed, text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        domain_targets = tuple(parse_pair(raw, "--domain-target") for raw in args.domain_target)
        target = build_target(
            api_url=args.api_url,
            region_endpoints=args.region_endpoint,
            health_checks=args.health_check,
            terraform_dir=args.terraform_dir,
            outputs_file=args.outputs_file,
        )
        options = Options(
            timeout=args.timeout,
            max_writes=args.max_writes,
            key_label=args.key_label,
            replication_timeout=args.replication_timeout,
            replication_samples=args.replication_samples,
            list_pages=args.list_pages,
            list_limit=args.list_limit,
            dns_lookups=args.dns_lookups,
            dns_require_all=args.dns_require_all,
            domain_targets=domain_targets,
            ca_file=str(args.ca_file) if args.ca_file else None,
            credentials=tuple(credentials_from_env(os.environ).items()),
        )
        if args.ca_file is not None and not args.ca_file.is_file():
            raise InputError(f"--ca-file {args.ca_file} is not a file")
        writing = {"replication", "idempotency"} & set(args.checks)
        needed = writes_needed(len(target.endpoints), options) if writing else 0
        if needed > options.max_writes:
            raise InputError(
                f"this run needs {needed} registrations ({len(target.endpoints)} regions x "
                f"{options.replication_samples} samples + 2) "
                f"but --max-writes is {options.max_writes}"
            )
        try:
            run = Run(target, options)
        except (ssl.SSLError, OSError) as exc:
            raise InputError(
                f"--ca-file {args.ca_file} is not a PEM certificate bundle ({exc})"
            ) from None
        _reachable(target, args.timeout, run)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results: list[Result] = []
    try:
        for name in args.checks:
            results.extend(CHECKS[name](run))
    except KeyboardInterrupt:
        print(
            f"interrupted: {run.budget.used} registrations sent (keys {run.key('')}…: "
            "a rerun with the same --key-label reuses them)",
            file=sys.stderr,
        )
        return 130
    ok, text = summary(results)
    if args.json:
        document = {
            "passed": ok,
            "summary": text,
            "writes": run.budget.used,
            "regions": list(target.endpoints),
            "checks": [asdict(r) for r in results],
        }
        print(json.dumps(document, indent=2))
    else:
        print(render_table(results))
        print(f"\n{text}; {run.budget.used} registrations sent")
    return 0 if ok else 1


__all__ = ["PASS", "main"]
