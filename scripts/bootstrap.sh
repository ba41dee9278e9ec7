#!/usr/bin/env bash
# Create .venv (if needed) and install quant-platform with its dev tools. Idempotent.
# Says each step on stderr (a first run takes a minute or two: pip downloads the
# dependencies, cargo compiles the native decoder); a later run with nothing to do
# prints nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
started=$SECONDS
say() { echo "bootstrap: $*" >&2; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  say "upgrading pip"
  .venv/bin/python -m pip install --quiet --upgrade pip
  say "installing quant-platform and its dev tools into .venv (first run: about a minute)"
  # one line per package as pip collects it; the whole log stays in .venv/pip-install.log
  set +e
  .venv/bin/python -m pip install --progress-bar off -e '.[dev]' 2>&1 |
    tee .venv/pip-install.log | grep -E --line-buffered '^(Collecting|Successfully installed)' |
    sed -u -e 's/ (from .*//' -e 's/^\(.\{96\}\).*/\1 .../' -e 's/^/  /' >&2
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    say "pip install failed (exit $status); the end of .venv/pip-install.log:"
    tail -20 .venv/pip-install.log >&2
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Native feed decoder (Rust extension quant_wire; maturin is fetched from PyPI as the build
# backend). Without cargo the pure-Python decoder is used (same results, about 5x slower),
# except under CI=true, where the tests require the native one. Rebuilt only when its
# sources change.
export PATH="$HOME/.cargo/bin:$PATH"
native=native/quant_wire
native_stamp=.venv/.quant-wire-$(cat "$native"/Cargo.toml "$native"/Cargo.lock \
  "$native"/pyproject.toml "$native"/quant_wire.pyi "$native"/src/*.rs | sha256sum | cut -c1-16)
if [ ! -f "$native_stamp" ] || ! .venv/bin/python -c "import quant_wire" 2>/dev/null; then
  if command -v cargo >/dev/null 2>&1; then
    say "compiling the native feed decoder with cargo (first run: a minute or two)"
    CARGO_BUILD_JOBS=2 nice .venv/bin/python -m pip install --quiet "./$native"
    rm -f .venv/.quant-wire-*
    touch "$native_stamp"
  elif [ "${CI:-}" = "true" ]; then
    say "cargo not found (install Rust with rustup); CI needs quant_wire"
    exit 1
  else
    say "cargo not found; using the pure-Python feed decoder (about 5x slower;" \
      "install Rust from https://rustup.rs and run make install again for the native one)"
  fi
fi
if [ $((SECONDS - started)) -gt 2 ]; then
  say "done in $((SECONDS - started)) s"
fi
