"""The docs' generated parts match their sources."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from gen_docs import DOCS, PARTS, regenerated

from aura_server.config import Settings


@pytest.mark.parametrize("page", sorted({page for page, _, _ in PARTS}))
def test_the_generated_parts_match_their_sources(page: str) -> None:
    assert regenerated(page) == (DOCS / page).read_text(), "run `make docs`"


def test_every_setting_command_and_series_is_in_the_reference() -> None:
    reference = {page: (DOCS / page).read_text() for page, _, _ in PARTS}
    for item in dataclasses.fields(Settings):
        assert f"`{item.metadata['env']}`" in reference["reference/configuration.md"]
    assert "`aura catalog import`" in reference["reference/cli.md"]
    assert "`aura_requests_total`" in reference["reference/metrics.md"]
    assert "POST /v1/recommend/natural" in reference["reference/api.md"]


def test_every_setting_is_read_from_its_variable() -> None:
    patch = pytest.MonkeyPatch()
    try:
        for item in dataclasses.fields(Settings):
            default = item.default
            if isinstance(default, tuple):
                value, expected = "1,1,1,1", (1.0, 1.0, 1.0, 1.0)
            elif isinstance(default, int):
                value, expected = "7", 7
            elif isinstance(default, float):
                value, expected = "0.5", 0.5
            else:
                continue  # strings: checked where each is used
            patch.setenv(item.metadata["env"], value)
            assert getattr(Settings.from_env(dotenv=False), item.name) == expected, item.name
            patch.delenv(item.metadata["env"])
    finally:
        patch.undo()


def test_a_bad_number_names_its_variable() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AURA_CANDIDATE_POOL", "many")
        with pytest.raises(ValueError, match="AURA_CANDIDATE_POOL"):
            Settings.from_env(dotenv=False)


def test_a_negative_bandit_weight_is_refused() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AURA_BANDIT_WEIGHT", "-0.1")
        with pytest.raises(ValueError, match="AURA_BANDIT_WEIGHT"):
            Settings.from_env(dotenv=False)
