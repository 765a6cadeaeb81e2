#!/usr/bin/env bash
# Blue/green deploy (see docs/deploy.md). Thin wrapper: checks Node >= 24 (the CLI
# is TypeScript run by Node's type stripping) and hands every argument to scripts/deploy/cli.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 24 ]; then
  echo "deploy-blue-green: Node >= 24 is required (found $(node --version 2>/dev/null || echo none)); run ./scripts/setup.sh" >&2
  exit 2
fi
# `--` ends node's own options: without it node scans the whole argv for --env-file (its own
# option, even after the script name) and exits 9 on the CLI's `--env-file FILE`.
exec node -- scripts/deploy/cli.ts "$@"
