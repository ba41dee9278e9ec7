"""Generate Python (and .pyi stubs) from proto/ into services/, or check for drift.

Usage: python scripts/gen_proto.py [--check]

The generated modules are committed under services/quant/pb/. ``--check`` regenerates
into a temporary folder and fails if anything differs from what is committed; the
unit test ``tests/unit/test_proto_drift.py`` calls the same function.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "services"
GEN_PKG = Path("quant") / "pb"


def _protos() -> list[Path]:
    return sorted(PROTO_DIR.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Run protoc on every .proto file; return the generated files (relative to out_dir)."""
    import grpc_tools
    from grpc_tools import protoc  # dev dependency, imported lazily

    include = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        *[str(p) for p in _protos()],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    generated = [
        path.relative_to(out_dir)
        for path in sorted((out_dir / GEN_PKG).rglob("*"))
        if path.suffix in {".py", ".pyi"} and path.name != "__init__.py"
    ]
    # every generated folder is a package
    for folder in {p.parent for p in generated}:
        cur = folder
        while cur != Path("quant"):
            init = out_dir / cur / "__init__.py"
            if not init.exists():
                init.write_text('"""Generated protobuf modules (see proto/)."""\n')
            cur = cur.parent
    return generated


def drift() -> list[str]:
    """Return the generated files that differ from the committed ones (empty when none)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        files = generate(out)
        committed = {
            p.relative_to(OUT_DIR)
            for p in (OUT_DIR / GEN_PKG).rglob("*")
            if p.suffix in {".py", ".pyi"} and p.name != "__init__.py"
        }
        problems = [f"missing or stale: {f}" for f in files if not (OUT_DIR / f).exists()]
        problems += [
            f"differs: {f}"
            for f in files
            if (OUT_DIR / f).exists() and not filecmp.cmp(out / f, OUT_DIR / f, shallow=False)
        ]
        problems += [f"no .proto source: {f}" for f in sorted(committed - set(files))]
        return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail on drift, write nothing")
    args = parser.parse_args()
    if args.check:
        problems = drift()
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print("generated protobuf code drifted: run `make proto`", file=sys.stderr)
            return 1
        print("protobuf code is in sync with proto/")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        files = generate(Path(tmp))
        for f in files:
            (OUT_DIR / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(tmp) / f, OUT_DIR / f)
        for init in (Path(tmp) / GEN_PKG).rglob("__init__.py"):
            dest = OUT_DIR / init.relative_to(tmp)
            if not dest.exists():
                shutil.copyfile(init, dest)
    print(f"generated {len(files)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
