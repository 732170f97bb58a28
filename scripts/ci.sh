#!/usr/bin/env bash
# The whole suite from a fresh clone: system prerequisites, npm packages (the build runs in `prepare`),
# lint and types, then every test with missing prerequisites treated as failures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
npm ci --no-audit --no-fund
npm run lint
npm run typecheck
OPTISCOPE_REQUIRE_ALL=1 npm test
