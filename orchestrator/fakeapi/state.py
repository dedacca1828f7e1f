"""The state both servers share: configuration, clocks, jobs, counters, randomness and origins."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .clock import Clock
from .config import FakeConfig
from .counters import Counters
from .jobs import JobStore
from .signing import UrlSigner


@dataclass(slots=True)
class FakeState:
    """One fake's world; origins are filled in once the servers have bound their ports."""

    config: FakeConfig
    clock: Clock
    wall_clock: Clock
    counters: Counters
    jobs: JobStore = field(default_factory=JobStore)
    signer: UrlSigner = field(default_factory=UrlSigner)
    rng: random.Random = field(default_factory=random.Random)
    api_origin: str = ""
    storage_origin: str = ""

    @classmethod
    def create(cls, config: FakeConfig, clock: Clock, wall_clock: Clock) -> FakeState:
        """A fresh state whose fault draws are seeded by `config.seed`."""
        return cls(
            config=config,
            clock=clock,
            wall_clock=wall_clock,
            counters=Counters(clock),
            rng=random.Random(config.seed),
        )

    def chance(self, probability: float) -> bool:
        """Draw a fault; a zero probability draws nothing, so it does not shift the sequence."""
        return probability > 0 and self.rng.random() < probability
