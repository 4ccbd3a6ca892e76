"""Regenerate the committed Python stubs from protos/ (``make protos``).

The stubs live in the client SDK package (``clients/python/aura/v1``), which the server
depends on; a test regenerates them into a temporary folder and fails on any difference.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
STUB_ROOT = ROOT / "clients" / "python"


def aura_protos() -> list[Path]:
    return sorted((PROTO_ROOT / "aura" / "v1").glob("*.proto"))


DESCRIPTOR_SET = "aura/v1/descriptors.binpb"


def generate(out_dir: Path) -> None:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for every aura proto under out_dir, and a
    descriptor set with the .proto comments (the REST door's OpenAPI document reads them)."""
    well_known = resources.files("grpc_tools") / "_proto"
    (out_dir / DESCRIPTOR_SET).parent.mkdir(parents=True, exist_ok=True)
    files = [str(p.relative_to(PROTO_ROOT)) for p in aura_protos()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--descriptor_set_out={out_dir / DESCRIPTOR_SET}",
        "--include_source_info",
        "--include_imports",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=STUB_ROOT, help="output root")
    out = parser.parse_args().out
    generate(out)
    print(f"generated stubs for {len(aura_protos())} protos under {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
