"""Each error maps to the exit code the README documents, so a scheduler can tell a passing
condition (retry later) from one that retrying cannot fix."""

from __future__ import annotations

from orchestrator.errors import (
    CredentialsRejected,
    JournalLocked,
    JournalUnavailable,
    ManifestError,
    SettingsError,
    UsageError,
)
from orchestrator.exit_codes import ExitCode, exit_code_for


def test_a_held_journal_is_75_and_every_other_usage_error_keeps_2() -> None:
    """JournalLocked is EX_TEMPFAIL (75, retry later); an unusable journal, settings, a manifest
    or any other usage error stay 2 (never retry); refused credentials stay 3."""
    assert exit_code_for(JournalLocked("another orchestrator run is using it")) == ExitCode.LOCKED
    assert int(ExitCode.LOCKED) == 75
    for error in (
        JournalUnavailable("not a journal"),
        SettingsError("bad"),
        ManifestError([]),
        UsageError("bad"),
    ):
        assert int(exit_code_for(error)) == 2, error
    assert int(exit_code_for(CredentialsRejected("401"))) == 3
