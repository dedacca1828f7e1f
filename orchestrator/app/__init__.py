"""The composition root and the application services: the only place that builds concrete
collaborators (the client, the journal, the sink) and the one the face (`orchestrator.cli`) calls.

    run.py       a run: builds its collaborators, runs every job, writes the report (`execute`)
    client.py    the one builder of a ReportsClient: access, TLS, session, retries
    planning.py  manifest -> plan -> one shard's RunRequest; the catalog's findings
    forecast.py  how long a plan will take, from the journal's history (`plan`)
    account.py   the `check` and `teams` services

The names below are re-exported so that `from orchestrator.app import execute` keeps reading as it
did when the composition root was one module; the package's own modules import each other directly.
"""

from orchestrator.app.client import access_from, http_session, tls_context
from orchestrator.app.run import RunOutcome, RunRequest, Watch, execute, new_run_id, policies_from

__all__ = [
    "RunOutcome",
    "RunRequest",
    "Watch",
    "access_from",
    "execute",
    "http_session",
    "new_run_id",
    "policies_from",
    "tls_context",
]
