"""When to poll each export: the learned model's time, or, for a kind not learned yet, a scout's.

Exports of one kind (export id and window length) take about as long as each other. Until a kind
has a model, one of its exports scouts on the short cold schedule, and the others wait twice as
long but wake as soon as any export of the kind is learned: then the model says when. A scout
that ends unlearned hands the role on to the next export that asks.

Pure: the driver passes the elapsed time, the jitter and the request pressure in, performs the
waits it is given, and reports what it observed; nothing here sleeps, reads a clock or draws.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.core.polling import DurationModel, Observation, PollPolicy

Kind = tuple[str, int]
"""An export id and a window length in seconds: exports alike in how long they take."""


@dataclass(frozen=True, slots=True)
class PollWait:
    """Wait `seconds` before the next poll; if `until_learned` is set, wake early when that kind
    is learned, and ask again."""

    seconds: float
    until_learned: Kind | None = None


class Scouting:
    """Which export scouts each kind not yet learned, and how long every export waits."""

    def __init__(self, policy: PollPolicy, durations: DurationModel | None = None) -> None:
        self._policy = policy
        self._durations = durations if durations is not None else DurationModel()
        self._scouts: dict[Kind, str] = {}

    def __repr__(self) -> str:
        return f"Scouting(durations={self._durations!r}, scouts={len(self._scouts)})"

    def next_poll(
        self,
        key: str,
        kind: Kind,
        *,
        polls: int,
        elapsed: float | None,
        jitter: float,
        pressure: float = 0.0,
    ) -> PollWait:
        """The wait before poll number `polls + 1` of job `key`, submitted `elapsed` seconds ago
        (None: resumed from the journal, its age unknown, so polled as a new kind)."""
        model = self._durations.estimate(*kind) if elapsed is not None else None
        seconds = self._policy.delay(
            polls, elapsed=elapsed or 0.0, model=model, jitter=jitter, pressure=pressure
        )
        if elapsed is None or model is not None:
            return PollWait(seconds)
        scout = self._scouts.setdefault(kind, key)
        return PollWait(seconds if scout == key else 2 * seconds, until_learned=kind)

    def learn(self, observation: Observation) -> Kind:
        """Take in what one export took; returns its kind, whose waiting exports should wake."""
        self._durations.learn(observation)
        kind = (observation.export_id, observation.window_seconds)
        self._scouts.pop(kind, None)
        return kind

    def forget(self, key: str) -> None:
        """Job `key` ended: a kind it scouted and left unlearned gets the next export as scout."""
        for kind in [kind for kind, scout in self._scouts.items() if scout == key]:
            del self._scouts[kind]

    def scout(self, kind: Kind) -> str | None:
        """The job scouting `kind`, if any."""
        return self._scouts.get(kind)
