"""The state both servers share: configuration, clocks, jobs, counters, randomness and origins."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field

from .clock import Clock
from .config import FakeConfig
from .counters import Counters
from .jobs import JobStore
from .signing import UrlSigner


@dataclass(frozen=True, slots=True)
class Hop:
    """Where one redirect hop points, with which status, and whether the chain left the API
    before it (see hops.py)."""

    location: str
    status: int
    after_leaving_api: bool


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
    hops: dict[str, Hop] = field(default_factory=dict)
    """Redirect hops handed out so far, by their random id (see hops.py)."""
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

    def record_leak(self, authorization: str) -> None:
        """Count an Authorization header that reached storage or a hop past the API origin."""
        config = self.config
        basic = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
        self.counters.credential_leaks += 1
        if basic in authorization or config.password in authorization:
            self.counters.basic_credential_leaks += 1
