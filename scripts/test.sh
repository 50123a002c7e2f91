#!/usr/bin/env bash
# `pipenv run test`: finish any set-up the tests need, then run the whole suite.
# Extra arguments go to pytest (e.g. `pipenv run test -k checkov`).
set -euo pipefail
cd "$(dirname "$0")/.."

# The synth-only set-up (`pipenv sync`) leaves out the test tools.
if ! python -c "import pytest" >/dev/null 2>&1; then
  echo "error: the test tools are not installed: run \`pipenv sync --dev\` first" >&2
  exit 1
fi

if ! command -v node >/dev/null 2>&1; then
  echo "error: Node.js 20+ is required (dynalite and the cdktf CLI run on it)" >&2
  exit 1
fi
# dynalite (the DynamoDB-compatible server the service tests start) comes from npm.
if [ ! -x node_modules/.bin/dynalite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing Node tools (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
# Let Python keep compiled modules (and pytest its assertion-rewritten ones, in
# __pycache__, which git ignores) even where the environment says not to: without
# them every session, and every Python subprocess a test starts, compiles the
# project and pytest's plugins again (about 2 CPU seconds per session here).
unset PYTHONDONTWRITEBYTECODE
# pytest in-process, then the process ends without interpreter teardown (as main.py does).
exec python -c 'import pytest; from epoch_app.fast_bindings import exit_now; exit_now(int(pytest.main()))' "$@"
