#!/usr/bin/env bash
# `pipenv run diff|deploy [args]`: `npx cdktf diff|deploy`, after checking that
# the Terraform it will run is there and new enough, and that AWS credentials are.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m rehearsal.terraform "$@"
exec npx cdktf "$@"
