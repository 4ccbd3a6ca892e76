"""The committed stubs are exactly what `make protos` generates from protos/."""

from __future__ import annotations

import filecmp
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "clients" / "python" / "aura" / "v1"


def load_generator() -> object:
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_protos"] = module
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    generator = load_generator()
    generator.generate(tmp_path)  # type: ignore[attr-defined]
    fresh = tmp_path / "aura" / "v1"
    generated = sorted(p.name for p in fresh.iterdir())
    committed = sorted(p.name for p in COMMITTED.iterdir() if p.name != "__init__.py")
    assert generated == committed, "run `make protos` and commit the result"
    _, mismatch, errors = filecmp.cmpfiles(fresh, COMMITTED, generated, shallow=False)
    assert not mismatch and not errors, f"stale stubs {mismatch + errors}: run `make protos`"
    for proto in (ROOT / "protos" / "aura" / "v1").glob("*.proto"):
        assert f"{proto.stem}_pb2.pyi" in generated, "every message module ships type stubs"


def test_the_client_methods_match_a_fresh_generation(tmp_path: Path) -> None:
    generator = load_generator()
    generator.generate(tmp_path)  # type: ignore[attr-defined]
    fresh = generator.client_methods(tmp_path / generator.DESCRIPTOR_SET)  # type: ignore[attr-defined]
    committed = ROOT / "clients" / "python" / generator.CLIENT_METHODS  # type: ignore[attr-defined]
    assert committed.read_text() == fresh, "run `make protos` and commit the result"
