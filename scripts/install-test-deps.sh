#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages, on Debian: Chromium (webview and end-to-end
# tests), PyTorch and NumPy from Debian (the bridge's tests and the optimizer oracles; OpenBLAS so torch
# does not fall back to reference BLAS), IPython's kernel and Jupyter's client (the notebook attach
# test), pip, venv and setuptools (the package's offline install), and code-server (a real VS Code, for
# the end-to-end tests).
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch)
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || need+=(python3-numpy)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need+=(libopenblas0-pthread)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
# A real IPython kernel and a front end for it (test/extension/attach-notebook.test.ts).
/usr/bin/python3 -c 'import ipykernel' >/dev/null 2>&1 || need+=(python3-ipykernel)
/usr/bin/python3 -c 'import jupyter_client' >/dev/null 2>&1 || need+=(python3-jupyter-client)
# pip and venv: the package's offline install into a fresh virtual environment (test/bridge/pip-install.test.ts).
/usr/bin/python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
/usr/bin/python3 -c 'import setuptools' >/dev/null 2>&1 || need+=(python3-setuptools)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-test-deps: installing ${need[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "install-test-deps: need root (or sudo) to apt-get install ${need[*]}" >&2; exit 1
    fi
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "install-test-deps: system packages present"
fi

bash scripts/install-code-server.sh
