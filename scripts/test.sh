#!/usr/bin/env bash
# Set up the test environment (idempotent) and run the whole test suite.
#   bash scripts/test.sh            # everything that is installed is tested; optional parts skip
#   ARCHDSL_TIMM=1 bash scripts/test.sh   # also build .venv-timm and run the timm parity tests
# Extra arguments go to pytest (e.g. bash scripts/test.sh -k lint).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[torch,onnx,render,bench,eval,explore,test]'
if [ "${ARCHDSL_SETUP_EMULATOR:-0}" = "1" ]; then
    # the pinned aarch64 sysroot of tests/test_emulated_a72.py (downloads once, then cached per user)
    .venv/bin/archdsl bench setup-emulator -q
fi

run_pytest() {
    set +e
    "$@"
    local rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then
        echo "error: pytest collected no tests (exit 5); the suite must not be empty" >&2
        return 1
    fi
    return "$rc"
}

# Two processes (pytest-xdist), each test file on one of them (module fixtures such as a server
# start once); ARCHDSL_TEST_WORKERS=0 runs everything in this process.
WORKERS=${ARCHDSL_TEST_WORKERS:-auto}
if [ "$WORKERS" = "0" ]; then
    run_pytest .venv/bin/python -m pytest "$@"
else
    run_pytest .venv/bin/python -m pytest -n "$WORKERS" --dist loadfile "$@"
fi

if [ "${ARCHDSL_TIMM:-0}" = "1" ]; then
    # timm needs torchvision, which works here only with torch 2.14.1: a separate environment
    TIMM_PY="$(bash scripts/setup_timm_env.sh | tail -n 1)"
    run_pytest "$TIMM_PY" -m pytest -m timm -p no:cacheprovider tests/test_zoo_parity.py tests/test_expressions.py tests/test_timm_downstream.py tests/test_ops_timm.py tests/test_resolver_regnet.py
fi
