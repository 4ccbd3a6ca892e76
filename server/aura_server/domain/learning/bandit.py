"""The contextual bandit: a Vowpal Wabbit model of the reward of showing an event.

VW runs as `--cb_adf` with `--cb_type mtr` (multi-task regression: a direct cost estimate
per action, learned with importance weights from the logged propensity), with -q UE -q TE
and `--ignore_linear E`: an event's appeal is learned only as it meets a user (tastes, the
user's own id) or a moment, never as one global "this event is good" weight, which let one
prolific user's favourite category creep into everyone's feed. Global popularity is the
prior's job.
`--cb_explore_adf` would add VW's own exploration, which picks one action per decision; a
feed is a slate with a diversity rule, so exploration is done slot by slot in slate.py with
exact propensities, and VW supplies the per-action estimates that drive it.

Examples go through the public `vowpalwabbit.Workspace` API of the pinned release, as a
list of lines (the shared features, then one line per action).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence

import numpy as np
import vowpalwabbit

from aura_server.domain.arrays import FloatArray

VW_ARGS = "--cb_adf --cb_type mtr -q UE -q TE --ignore_linear E --bit_precision 20 --quiet"


class ContextualBandit:
    """Thread-safe: VW workspaces are not, so every call holds one lock."""

    def __init__(self, blob: bytes | None = None, learned: int = 0) -> None:
        self._lock = threading.Lock()
        self.learned = learned
        self._workspace = self._open(blob)

    @staticmethod
    def _open(blob: bytes | None) -> vowpalwabbit.Workspace:
        if blob is None:
            return vowpalwabbit.Workspace(VW_ARGS)
        with tempfile.NamedTemporaryFile(suffix=".vw", delete=False) as handle:
            handle.write(blob)
        try:
            return vowpalwabbit.Workspace(f"{VW_ARGS} -i {handle.name}")
        finally:
            os.unlink(handle.name)

    @property
    def version(self) -> str:
        return f"cb-{self.learned}"

    def predict_rewards(self, shared: str, actions: Sequence[str]) -> FloatArray:
        """The expected reward of each action (VW estimates costs; reward = -cost), kept
        within the reward range: a young regression can overshoot it."""
        if not actions:
            return np.zeros(0)
        with self._lock:
            costs = self._workspace.predict([shared, *actions])
        return np.clip(-np.asarray(costs, dtype=np.float64), -1.0, 1.0)

    def learn(
        self, shared: str, actions: Sequence[str], chosen: int, reward: float, propensity: float
    ) -> None:
        labelled = list(actions)
        labelled[chosen] = f"0:{-reward:.6f}:{propensity:.6f} {labelled[chosen]}"
        with self._lock:
            self._workspace.learn([shared, *labelled])
            self.learned += 1

    def to_bytes(self) -> tuple[bytes, int]:
        """The model as saved by VW, and how many examples it has learned."""
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.vw")
            with self._lock:
                self._workspace.save(path)
                learned = self.learned
            with open(path, "rb") as handle:
                return handle.read(), learned

    def close(self) -> None:
        with self._lock:
            self._workspace.finish()
