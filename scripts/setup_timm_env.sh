#!/usr/bin/env bash
# Build (or reuse) the optional environment for the timm parity tests: tests/test_zoo_parity.py.
#
# timm needs torchvision, which on our machines works only as torch==2.14.1 + torchvision==0.29.1:
# a large install (about 5.5 GB, a few minutes), so it lives in its own venv, apart from the light
# default one. Idempotent: an environment that already has the pinned versions is reused as it is.
#
#   scripts/setup_timm_env.sh                  # creates .venv-timm at the repo root
#   ARCHDSL_TIMM_VENV=/some/where scripts/setup_timm_env.sh
#   .venv-timm/bin/python -m pytest tests/test_zoo_parity.py
#
# Prints the venv's python path on its last line. No model weights are ever downloaded: the tests
# build timm's models with pretrained=False.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ARCHDSL_TIMM_VENV:-$ROOT/.venv-timm}"
PY="$VENV/bin/python"
# the tests that run here also use hypothesis (tests/test_expressions.py), numpy and safetensors (weights map)
PINS=(torch==2.14.1 torchvision==0.29.1 timm==1.0.31 torchinfo==1.8.0 "pytest>=8" hypothesis==6.170.17 numpy==2.4.6 safetensors==0.8.0)

ready() {
    [ -x "$PY" ] && "$PY" - <<'PY' >/dev/null 2>&1
import importlib.metadata as md
want = {"torch": "2.14.1", "torchvision": "0.29.1", "timm": "1.0.31", "torchinfo": "1.8.0", "hypothesis": "6.170.17"}
for name, version in want.items():
    assert md.version(name).split("+")[0] == version, name
import archdsl, hypothesis, numpy, pytest, safetensors, timm, torchinfo  # noqa: F401
PY
}

if ready; then
    echo "setup_timm_env: reusing $VENV" >&2
else
    echo "setup_timm_env: building $VENV (torch 2.14.1, torchvision 0.29.1, timm 1.0.31; a few minutes)" >&2
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
    "$PY" -m pip install --quiet --disable-pip-version-check -e "$ROOT"
    ready || { echo "setup_timm_env: $VENV is still incomplete" >&2; exit 1; }
fi
echo "$PY"
