#!/usr/bin/env bash
# `pipenv run diff|deploy [args]`: `npx cdktf diff|deploy`, after the checks of
# epoch_ops/preflight.py (Terraform, AWS credentials, no example settings, the
# state backend bootstrapped).
set -euo pipefail
cd "$(dirname "$0")/.."
# Its standard output is the arguments cdktf needs besides these (see extra_arguments).
extra="$(python -m epoch_ops.preflight "$@")"
# shellcheck disable=SC2086 # the extra arguments are separate words
exec npx cdktf "$@" $extra
