#!/usr/bin/env bash
# Create .venv (if needed) and install quant-platform with its dev tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Native feed decoder (Rust extension quant_wire; maturin is fetched from PyPI as the build
# backend). Without cargo the Python decoder is used, except under CI=true, where the
# tests require the native one. Rebuilt only when its sources change.
export PATH="$HOME/.cargo/bin:$PATH"
native=native/quant_wire
native_stamp=.venv/.quant-wire-$(cat "$native"/Cargo.toml "$native"/Cargo.lock \
  "$native"/pyproject.toml "$native"/quant_wire.pyi "$native"/src/*.rs | sha256sum | cut -c1-16)
if [ ! -f "$native_stamp" ] || ! .venv/bin/python -c "import quant_wire" 2>/dev/null; then
  if command -v cargo >/dev/null 2>&1; then
    CARGO_BUILD_JOBS=2 nice .venv/bin/python -m pip install --quiet "./$native"
    rm -f .venv/.quant-wire-*
    touch "$native_stamp"
  elif [ "${CI:-}" = "true" ]; then
    echo "bootstrap: cargo not found (install Rust with rustup); CI needs quant_wire" >&2
    exit 1
  else
    echo "bootstrap: cargo not found; using the pure-Python feed decoder" >&2
  fi
fi
