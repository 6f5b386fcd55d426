#!/usr/bin/env bash
# Test prerequisites: a Python with ipykernel (plus venv and pip for the
# managed-venv tests), bubblewrap (sandbox tests), Debian's Jupyter Server
# (remote-kernel tests), nbformat (notebook validation), numpy (sandbox
# thread test), chromium, matplotlib and pandas (notebook view) and the npm
# dependencies. Installs what is missing when it can (root with apt-get);
# otherwise says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

has_kernel() {
  for py in "${CODER_PYTHON:-}" python3 python /usr/bin/python3 /usr/local/bin/python3 /opt/homebrew/bin/python3; do
    [ -n "$py" ] || continue
    if "$py" -c 'import ipykernel, venv, ensurepip' >/dev/null 2>&1; then return 0; fi
  done
  return 1
}

missing=()
has_kernel || missing+=(python3-ipykernel python3-venv python3-pip)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
/usr/bin/python3 -c 'import jupyter_server' >/dev/null 2>&1 || missing+=(python3-jupyter-server)
/usr/bin/python3 -c 'import ensurepip, pip' >/dev/null 2>&1 || missing+=(python3-venv python3-pip)
/usr/bin/python3 -c 'import nbformat' >/dev/null 2>&1 || missing+=(python3-nbformat)
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || missing+=(python3-numpy)
# Notebook view tests (tests/mcp/view_test.ts): a headless Chromium as the
# MCP Apps host, and matplotlib/pandas for a plot and a table.
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1 || missing+=(python3-matplotlib)
/usr/bin/python3 -c 'import pandas' >/dev/null 2>&1 || missing+=(python3-pandas)
# JupyterHub test (tests/kernel/jupyterhub_test.ts): Debian's hub; its proxy
# comes from npm below (Debian's configurable-http-proxy misses a module).
command -v jupyterhub >/dev/null 2>&1 || missing+=(jupyterhub)

if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]} with apt-get" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif ! has_kernel; then
    echo "setup: no Python with ipykernel found; install it (python3 -m pip install ipykernel) or set CODER_PYTHON" >&2
    exit 1
  else
    echo "setup: optional test dependencies missing (${missing[*]}); install them, or the sandbox, remote-kernel and notebook tests fail" >&2
  fi
fi

if ! configurable-http-proxy --version >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "setup: installing configurable-http-proxy with npm" >&2
  npm install -g --prefix /usr/local configurable-http-proxy@4.6.3 >/dev/null 2>&1 ||
    echo "setup: configurable-http-proxy could not be installed; the JupyterHub test is skipped" >&2
fi

deno install --quiet >/dev/null
