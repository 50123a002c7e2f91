#!/usr/bin/env bash
# `pipenv run lint`: ruff (lint + format check), mypy and radon, as the test gate runs them.
set -euo pipefail
cd "$(dirname "$0")/.."

# The synth-only set-up (`pipenv sync`) leaves out the lint tools.
if ! python -c "import ruff, mypy, radon" >/dev/null 2>&1; then
  echo "error: the lint tools are not installed: run \`pipenv sync --dev\` first" >&2
  exit 1
fi
ruff check .
ruff format --check .
mypy .
# No function above complexity 20 (rank D), no module below maintainability grade B:
# radon prints the ones that are, so any output fails.
PACKAGES="main.py epoch_app epoch_blocks epoch_constructs epoch_ops epoch_settings handlers local_api remote_state rollout verify rehearsal benchmarks"
found="$(radon cc --min D --show-complexity $PACKAGES; radon mi --min C --show $PACKAGES)"
if [ -n "$found" ]; then
  echo "radon: too complex (complexity above 20, or maintainability grade C):" >&2
  echo "$found" >&2
  exit 1
fi
