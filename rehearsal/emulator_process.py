"""The emulator process: moto's server app behind the rehearsal's shims, on 127.0.0.1 only.

Run by `rehearsal.emulator.Emulator` as `python -m rehearsal.emulator_process`;
not a user command. Hosted zones named with `--zone NAME=ID` get that id when
created, so the settings' `hosted_zone_id` is the zone's real id in the emulator.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

# moto's own settings, read when moto is imported.
EMULATOR_SETTINGS = {
    # AWS managed policies (e.g. AWSLambdaBasicExecutionRole) exist only with this.
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    # ACM certificates turn ISSUED after this many seconds (default 60).
    "MOTO_ACM_VALIDATION_WAIT": "0",
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal.emulator_process")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--zone", action="append", default=[], metavar="NAME=ID")
    args = parser.parse_args(argv)
    from rehearsal.shims import EmulatorShims, EmulatorVersionError, patch_emulator, require_moto

    try:
        require_moto()
    except EmulatorVersionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    os.environ.update(EMULATOR_SETTINGS)
    os.environ["MOTO_PORT"] = str(args.port)

    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.route53.models import HostedZoneIdentifier
    from moto.utilities.id_generator import moto_id_manager
    from werkzeug.serving import run_simple

    for zone in args.zone:
        name, _, zone_id = zone.partition("=")
        # moto keys a zone by its name with the trailing dot and its delegation set.
        identifier = HostedZoneIdentifier(DEFAULT_ACCOUNT_ID, name.rstrip(".") + ".", None)
        moto_id_manager.set_custom_id(identifier, zone_id)

    patch_emulator()

    def stop(signum: int, frame: FrameType | None) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    app = EmulatorShims(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
