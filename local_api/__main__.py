"""`python -m local_api` (`pipenv run local`): the API on http://127.0.0.1:8080 over dynalite.

Starts dynalite from node_modules on a free loopback port with its data in
`.local-data/` (kept across restarts), creates the table with the
infrastructure's key schema, sets the same environment variables the
infrastructure sets on the Lambda functions, imports the Lambda entry
modules and serves them. Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import NoReturn

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ModuleNotFoundError as missing:  # run outside the project's environment
    sys.exit(
        f"error: the Python package {missing.name!r} is not installed for {sys.executable}: "
        "run `pipenv sync` in the project folder, then `pipenv run local`"
    )

from epoch_settings import SETTINGS_ENV_VAR, Settings, SettingsError, load_settings
from epoch_settings.loader import DEFAULT_SETTINGS_PATH
from handlers import auth, contract
from handlers.api import LambdaHandler
from local_api.auth import LocalAuthError, LocalGate, api_keys_from_file, jwt_verifier
from local_api.dynalite import NODE_MODULES, PROJECT_ROOT, Dynalite, DynaliteError, ensure_table
from local_api.server import DEFAULT_READ_TIMEOUT_SECONDS, LocalApi

DEFAULT_TABLE = "epoch-register-local"
MAX_PORT = 65535
MAX_READ_TIMEOUT_SECONDS = 3600


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not argparse's usage block."""
        self.exit(2, f"error: {message} (see --help)\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="python -m local_api", description="Serve the EpochRegister API locally.")
    parser.add_argument("--port", type=_port, default=8080, help="API port (default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=PROJECT_ROOT / ".local-data",
        help="dynalite's data folder (default .local-data/ in the project)",
    )
    parser.add_argument("--table-name", default=DEFAULT_TABLE, help="table name")
    parser.add_argument("--region", default="us-east-1", help="region reported by the API")
    parser.add_argument(
        "--force-unhealthy",
        action="store_true",
        help="GET /health answers 503 (what the infrastructure's failover drill sets)",
    )
    parser.add_argument(
        "--list-shards",
        type=_shard_count,
        default=contract.LIST_SHARDS_DEFAULT,
        help="list-index shards, as settings table.list_shards (default 1)",
    )
    parser.add_argument(
        "--read-timeout",
        type=_read_timeout,
        default=DEFAULT_READ_TIMEOUT_SECONDS,
        help=(
            "seconds a request may take to arrive from its first byte, and an idle "
            f"connection may stay open (default {DEFAULT_READ_TIMEOUT_SECONDS:g})"
        ),
    )
    parser.add_argument(
        "--settings",
        type=Path,
        help=f"settings file whose api.auth local mode applies (default ${SETTINGS_ENV_VAR}, "
        "else settings.toml)",
    )
    parser.add_argument(
        "--jwks-file",
        type=Path,
        help='auth = "jwt": trust the keys of this JWKS file (a local test issuer) '
        "instead of fetching the issuer's",
    )
    parser.add_argument(
        "--api-keys-file",
        type=Path,
        help='auth = "api_key": the keys accepted, a JSON object name -> value '
        "(what `terraform output -json api_key_values` prints)",
    )
    parser.add_argument("--node-modules", type=Path, default=NODE_MODULES, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def settings_file(args: argparse.Namespace) -> Path:
    if args.settings is not None:
        return Path(args.settings)
    return Path(os.environ.get(SETTINGS_ENV_VAR) or DEFAULT_SETTINGS_PATH)


def gate_for(settings: Settings, args: argparse.Namespace) -> LocalGate | None:
    """API Gateway's authentication for the settings' `api.auth`; LocalAuthError if the
    options do not fit it."""
    mode = settings.api.auth
    if args.jwks_file is not None and mode != auth.AUTH_JWT:
        raise LocalAuthError(f'--jwks-file is for api.auth = "jwt"; the settings say "{mode}"')
    if args.api_keys_file is not None and mode != auth.AUTH_API_KEY:
        raise LocalAuthError(
            f'--api-keys-file is for api.auth = "api_key"; the settings say "{mode}"'
        )
    if mode == auth.AUTH_JWT:
        jwt = settings.api.jwt
        return LocalGate(
            mode,
            verifier=jwt_verifier(
                issuer=str(jwt.issuer),
                audience=str(jwt.audience),
                jwks_url=jwt.jwks_url,
                jwks_file=args.jwks_file,
            ),
        )
    if mode == auth.AUTH_API_KEY:
        if args.api_keys_file is None:
            raise LocalAuthError(
                'the settings say api.auth = "api_key": give the keys local mode accepts '
                "with --api-keys-file FILE (a JSON object name -> value)"
            )
        return LocalGate(mode, api_keys=api_keys_from_file(args.api_keys_file))
    return None


def _port(raw: str) -> int:
    if not raw.lstrip("-").isdigit() or not 1 <= int(raw) <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"{raw} is not a TCP port: choose one from 1 to {MAX_PORT}"
        )
    return int(raw)


def _read_timeout(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= MAX_READ_TIMEOUT_SECONDS:  # NaN fails too
        raise argparse.ArgumentTypeError(
            f"{raw} is not a number of seconds above 0 and at most {MAX_READ_TIMEOUT_SECONDS}"
        )
    return seconds


def _shard_count(raw: str) -> int:
    try:
        return contract.parse_list_shards(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def load_handler(path: str) -> LambdaHandler:
    """`handlers.register.handler` -> that function (as the Lambda runtime resolves it)."""
    module, _, name = path.rpartition(".")
    handler: LambdaHandler = getattr(importlib.import_module(module), name)
    return handler


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings(settings_file(args))
        gate = gate_for(settings, args)
    except SettingsError as exc:
        for line in exc.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except LocalAuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        api = LocalApi({}, host=args.host, port=args.port, read_timeout=args.read_timeout)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return _fail(
                f"port {args.port} on {args.host} is already in use: "
                "stop whatever listens there or choose another port with --port"
            )
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
    dynalite = Dynalite(args.data_dir.resolve(), node_modules=args.node_modules)
    # Ctrl-C works even when started with SIGINT ignored (e.g. from a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        dynalite.start()
        ensure_table(dynalite.endpoint_url, args.table_name, args.region)
        # What RegionFrontend sets on every function (plus the local endpoint);
        # a local server never signs with the developer's real credentials.
        os.environ.update(
            {
                contract.ENV_TABLE_NAME: args.table_name,
                contract.ENV_FORCE_UNHEALTHY: "true" if args.force_unhealthy else "false",
                contract.ENV_LIST_SHARDS: str(args.list_shards),
                contract.ENV_REGION: args.region,
                contract.ENV_DYNAMODB_ENDPOINT: dynalite.endpoint_url,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
            }
        )
        if gate is not None:
            os.environ[auth.ENV_AUTH_MODE] = gate.mode
            api.set_gate(gate)
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
            os.environ.pop(name, None)
        # The same handler functions the Lambdas run, configured from the environment.
        api.set_handlers(
            {function: load_handler(path) for function, path in contract.FUNCTION_HANDLERS.items()}
        )
        print(
            f"EpochRegister API on {api.url} (OpenAPI at {api.url}/openapi.json)\n"
            f"dynalite at {dynalite.endpoint_url}, data in {args.data_dir}, "
            f"table {args.table_name}. Ctrl-C stops both."
            + (f"\nAuthentication: {gate.mode} (settings api.auth)" if gate is not None else ""),
            file=sys.stderr,
            flush=True,
        )
        api.start()
        code = dynalite.wait()  # Ctrl-C or SIGTERM interrupts it (KeyboardInterrupt)
        ended = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        return _fail(
            f"dynalite (process {dynalite.pid}) ended ({ended}): local mode stopped; "
            "start it again with `pipenv run local`"
        )
    except DynaliteError as exc:
        return _fail(str(exc))
    except (ClientError, BotoCoreError) as exc:
        return _fail(f"cannot prepare table {args.table_name} in dynalite: {exc}")
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()
        dynalite.stop()
    print("stopped", file=sys.stderr)
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
