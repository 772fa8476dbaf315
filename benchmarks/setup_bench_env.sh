#!/usr/bin/env bash
# Create (or update) .venv-bench/, the environment for the peer benchmarks in benchmarks/.
#
# Usage, from the repository root:
#     bash benchmarks/setup_bench_env.sh          # or: make bench-env
#
# It installs this package in editable mode with the `dev` extra (pytest, for
# benchmarks/test_peers.py), then the peers listed in the `bench` extra of
# pyproject.toml (LensKit, scikit-surprise, PySpark, psutil, myFM, cmfrec). torch is installed first and
# pinned to a CPU build: LensKit depends on torch, and an unpinned resolve pulls the much
# larger CUDA build. Spark also needs a Java 17 runtime on PATH (`java -version`).
#
# Running it again is safe: an existing venv is reused, and pip skips what is installed.
# Variables: PYTHON (interpreter for the venv, default python3), BENCH_VENV (default
# .venv-bench), TORCH_VERSION (default 2.13.0), TORCH_INDEX_URL (an extra index serving the
# CPU build, e.g. https://download.pytorch.org/whl/cpu, where pip's own indexes lack it).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BENCH_VENV=${BENCH_VENV:-.venv-bench}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

if [[ ! -x "$BENCH_VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$BENCH_VENV"
fi
PIP=("$BENCH_VENV/bin/python" -m pip)
"${PIP[@]}" install --quiet --upgrade pip
TORCH_ARGS=("torch==${TORCH_VERSION}")
if [[ -n "${TORCH_INDEX_URL:-}" ]]; then
    TORCH_ARGS+=(--extra-index-url "$TORCH_INDEX_URL")
fi
"${PIP[@]}" install --quiet "${TORCH_ARGS[@]}"
# myFM imports pkg_resources, which setuptools 81 removed; cmfrec builds from source (a C compiler).
"${PIP[@]}" install --quiet "setuptools<81"
"${PIP[@]}" install --quiet -e '.[bench,dev]' "setuptools<81"

if ! command -v java >/dev/null 2>&1; then
    echo "warning: no java on PATH; the Spark benchmarks need a Java 17 runtime" >&2
fi

"$BENCH_VENV/bin/python" - <<'PY'
from importlib.metadata import version

for name in ["recsys_helpers", "numpy", "pandas", "torch", "lenskit", "scikit-surprise",
             "pyspark", "psutil", "myfm", "cmfrec", "setuptools"]:
    print(f"{name:16s} {version(name)}")
PY
