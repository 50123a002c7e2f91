#!/usr/bin/env bash
# `pipenv run lint`: ruff (lint + format check) and mypy, as the test gate runs them.
set -euo pipefail
cd "$(dirname "$0")/.."

# The synth-only set-up (`pipenv sync`) leaves out the lint tools.
if ! python -c "import ruff, mypy" >/dev/null 2>&1; then
  echo "error: the lint tools are not installed: run \`pipenv sync --dev\` first" >&2
  exit 1
fi
ruff check .
ruff format --check .
mypy .
