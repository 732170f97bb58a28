#!/usr/bin/env bash
# Installs code-server (a real VS Code served to a browser) into .cache/code-server/ of the repository,
# for the end-to-end tests in test/e2e/. Idempotent: a second run with everything in place does nothing.
#
# Recipe:
#   1. system packages libkrb5-dev (native module build), ripgrep, chromium — apt-get when root and missing;
#   2. @vscode/ripgrep's postinstall downloads rg from GitHub; we pre-seed its cache with Debian's rg so
#      the install works offline;
#   3. npm install code-server@$VERSION in a folder of its own, with install scripts allowed (code-server's
#      postinstall installs VS Code's own node_modules; npm 11 may skip dependency scripts otherwise).
set -euo pipefail

VERSION="${CODE_SERVER_VERSION:-4.100.3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/code-server"
BIN="$DEST/node_modules/.bin/code-server"

installed_ok() {
  # code-server's postinstall leaves VS Code's server-side node_modules; without them it cannot start.
  [ -x "$BIN" ] && [ -d "$DEST/node_modules/code-server/lib/vscode/node_modules" ] &&
    grep -q "\"version\": \"$VERSION\"" "$DEST/node_modules/code-server/package.json" 2>/dev/null
}

if installed_ok; then
  echo "code-server $VERSION already installed in .cache/code-server"
  exit 0
fi

# 1. System packages.
missing=()
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  else
    echo "missing system packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi

# 2. Seed @vscode/ripgrep's download cache with the system rg (a tar.gz holding `rg` at its root).
TMP="$(node -p 'require("os").tmpdir()')"
CACHE="$TMP/vscode-ripgrep-cache-1.15.11"
TARBALL="$CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$TARBALL" ]; then
  mkdir -p "$CACHE"
  stage="$(mktemp -d)"
  cp "$(command -v rg)" "$stage/rg"
  tar -czf "$TARBALL" -C "$stage" rg
  rm -rf "$stage"
fi

# 3. code-server in its own folder (its own package.json, so the repo's lockfile is untouched).
mkdir -p "$DEST"
[ -f "$DEST/package.json" ] || echo '{ "name": "optiscope-code-server", "private": true }' >"$DEST/package.json"
cd "$DEST"
npm_config_unsafe_perm=true npm_config_yes=true npm_config_ignore_scripts=false \
  npm install --no-audit --no-fund --foreground-scripts "code-server@$VERSION"

if ! installed_ok; then
  # The dependency's postinstall did not run (npm blocked it): run it ourselves.
  echo "code-server's postinstall did not run; running it now" >&2
  (cd "$DEST/node_modules/code-server" && npm_config_unsafe_perm=true npm run postinstall --foreground-scripts)
fi
installed_ok || { echo "code-server install incomplete: lib/vscode/node_modules missing" >&2; exit 1; }
echo "code-server $VERSION installed: .cache/code-server/node_modules/.bin/code-server"
