"""Where a run's output goes, and everything that lives beside it, behind one entry point for the
composition root and the CLI:

    output = open_output(parse_location(settings_out_text), StorageOptions(shard=..., ...))
    output.describe()            `config`: the store, the journal, and where the credentials
                                 come from (secret values masked)
    output.secrets()             the store's secret values, to join the log redaction
    await output.check(exports)  before any API request: the folder can take files, or the bucket
                                 exists and may be listed (SettingsError / OutputNotWritable, exit 2)
    async with output.journal() as journal:
                                 takes the run lock (the SQLite journal's flock, or the bucket's
                                 lease, renewed while the block runs), loads; releases at the end
    output.sink                  the Sink port: FileSink or ObjectSink
    await output.reports.write(header, results, secrets)
                                 the run report, `<out>/_runs/<run id>.json`; returns where
    await output.reports.prune(keep, current)
                                 ORCHESTRATOR_KEEP_REPORTS: the oldest reports beyond it go
    await output.journal_records()
                                 `status`: every shard's journal records, read without the lock

    output.py   the Output protocol and StorageOptions
    local.py    a local folder (a plain path or file://) is today's behaviour: FileSink, the SQLite
                journal at `<out>/.orchestrator/journal[.shard-I-of-N].sqlite` with its flock, the
                report file
    bucket.py   a bucket (s3://, gs://, az://): ObjectSink, the ObjectJournal under
                `<prefix>/.orchestrator/journal[.shard-I-of-N]/` and its Lease beside it; unless
                ORCHESTRATOR_JOURNAL (`journal`) names a local path: then the SQLite journal is
                there, locked by its flock
    stores.py, object_sink.py, object_journal.py, lease.py
                the bucket's parts, over obstore

The two kinds are one protocol (`Output`), so the caller never asks which it has. obstore is
imported only when a bucket is opened (bucket.py and the modules it imports), so a local run does
not pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from orchestrator.core.location import Location
from orchestrator.edges.storage.local import LocalOutput
from orchestrator.edges.storage.output import Output, Reports, StorageOptions


def open_output(
    location: Location, options: StorageOptions, environ: Mapping[str, str] = os.environ
) -> Output:
    """The output at `location`: nothing is read or written until it is used (SettingsError for a
    bucket whose store cannot be built from the environment)."""
    if location.local:
        return LocalOutput(location, options)
    # imported here: obstore and the bucket's modules are for bucket outputs only
    from orchestrator.edges.storage.bucket import BucketOutput
    from orchestrator.edges.storage.stores import build_store

    return BucketOutput(location, options, build_store(location, environ))


__all__ = ["LocalOutput", "Output", "Reports", "StorageOptions", "open_output"]
