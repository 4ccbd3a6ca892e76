"""The README's generated parts match the code."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from gen_docs import README, with_table

from aura_server.config import Settings


def test_the_configuration_table_matches_the_settings() -> None:
    text = README.read_text()
    assert with_table(text) == text, "run `make docs`"


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
