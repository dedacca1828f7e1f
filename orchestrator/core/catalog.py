"""The vendor's Care export catalog as data: each export ID with its methods, where its POST
parameters travel, and each parameter's kind, allowed values, whether it is required and its rule.

Every fact cites its source: "§N" is a section of API-CATALOG.md (the vendor's published API
reference reduced to facts; `../shared/seed/API-CATALOG.md` next to the project). Nothing here is
guessed: what the reference does not state is written down as open, and nothing checks it.
`core.catalog_check` applies this to a manifest; `orchestrator exports` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal
from urllib.parse import quote

from orchestrator.core.jobs import Method, Source

ParamKind = Literal["comma", "repeated", "single", "boolean"]
"""How a value travels: `comma` one comma-joined value (`priorities=0,1`), `repeated` the name once
per value (`reportMetrics=a&reportMetrics=b`), `single` exactly one value, `boolean` one value
spelled `true` or `false` (§2)."""
Transport = Literal["query", "body"]
"""Where a POST sends its parameters: all in the query, or a form body with a few kept in the query."""

BOOLEAN_VALUES = ("true", "false")
PRIORITIES = tuple(str(number) for number in range(6))  # "values 0-5" (§2, §5)
LOCALES = ("en", "es", "fr", "de", "tr")  # §2, §5
REPORT_FORMATS = ("json", "csv")  # default json (§2, §5); the manifest's `format` sets it
CONVERSATION_REPORT_TYPES = ("OPEN_AT_END", "CLOSED", "CREATED")  # default OPEN_AT_END (§2)

DAY_MS = 86_400_000
WEEK_MS = 604_800_000
TIME_INTERVALS = (
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    14_400_000,
    28_800_000,
    43_200_000,
    DAY_MS,
    WEEK_MS,
)
"""timeInterval values in ms (§2, §5). Values above 1 week are treated as monthly; values below 1
week not in this list are an error (§5)."""
WEEK_RANGE_INTERVALS = (28_800_000, 43_200_000, DAY_MS)
"""The only timeInterval values for a 1-week range; any other gets "Too many buckets" (§5)."""
MONTH_RANGE_INTERVALS = (DAY_MS, WEEK_MS)
"""The only timeInterval values for a 1-month range; any other gets "Too many buckets" (§5)."""
TOO_MANY_BUCKETS = "Too many buckets"
"""The words of the API's answer to an over-fine interval (§4.4); its HTTP status is not stated."""

STATUS_PATH = "/api/public/reports/report/{workflow_id}/{run_id}/status"
"""Export status, as every example URL has it (§4.1, §6 surprise 1: the spec's own path
`/report/reports/...` is a typo that no example uses). Both ids percent-encoded (§1)."""


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of an export, as the reference declares it."""

    name: str
    kind: ParamKind
    declared: str
    """The type the reference declares ("string", "boolean"): includeDisabled is a string on some
    exports and a boolean on `user`, though both are sent as `true` / `false` (§2, §6 surprise 5)."""
    values: tuple[str, ...] = ()
    """The allowed values; empty when the reference lists none (the value is then open)."""
    required: bool = False
    rule: str = ""
    """The rule in words, as the reference states it."""
    by_client: bool = False
    """Set by the client itself (companyKey, the window, format, locale, columns), never a filter."""
    cite: str = "§2"
    """Where API-CATALOG.md states it."""


@dataclass(frozen=True, slots=True)
class Export:
    """One Care export ID (§3)."""

    export_id: str
    ui_name: str
    methods: tuple[Method, ...]
    post: Transport
    params: tuple[Param, ...]
    post_query: tuple[str, ...] = ("companyKey",)
    """With a `body` POST, the parameters that stay in the query (§3)."""
    notes: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        return next((param for param in self.params if param.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(param.name for param in self.params)


def _p(
    name: str,
    kind: ParamKind,
    rule: str,
    *,
    values: tuple[str, ...] | None = None,
    declared: str | None = None,
    required: bool = False,
    by_client: bool = False,
    cite: str = "§2",
) -> Param:
    """A parameter; booleans are declared boolean and take `true` / `false` unless told."""
    boolean = kind == "boolean"
    return Param(
        name,
        kind,
        declared or ("boolean" if boolean else "string"),
        values if values is not None else (BOOLEAN_VALUES if boolean else ()),
        required=required,
        rule=rule,
        by_client=by_client,
        cite=cite,
    )


# --- §2 "BASE": the parameters most exports declare, all in the query --------------------------
COMPANY_KEY = _p(  # §1 "companyKey", §2
    "companyKey",
    "single",
    "the account's key, from Account Admin > General Settings > Analytics API Settings",
    required=True,
    by_client=True,
    cite="§1, §2",
)
START_TIME = _p(  # §2, §5 "Times"
    "startTime", "single", "epoch milliseconds, not adjusted", required=True, by_client=True
)
END_TIME = _p(  # §2, §5 "Times"
    "endTime", "single", "epoch milliseconds, not adjusted", required=True, by_client=True
)
BUSINESS_HOUR_TYPE = _p(  # §2, §5 "Business hours"
    "businessHourType",
    "boolean",
    "true: within business hours, false: outside, absent: 24/7; a value requires "
    "enableBusinessHour=true; the smart view's own business-hour setting overrides both",
    cite="§2, §5",
)
ENABLE_BUSINESS_HOUR = _p(  # §2
    "enableBusinessHour", "boolean", "turns business-hour filtering on; default false"
)
LOCALE = _p(  # §2, §5 "locale"; en_US in the examples: §3 raw_expert_help, §6 surprise 9
    "locale",
    "single",
    "default not stated; the reference's own examples and the quick start send en_US, which is "
    "not in this list",
    values=LOCALES,
    by_client=True,
    cite="§2, §5, §6 surprise 9",
)
PRIORITIES_PARAM = _p(  # §2, §5 "priorities"
    "priorities",
    "comma",
    "comma-separated integers 0-5; absent: every priority",
    values=PRIORITIES,
    cite="§2, §5",
)
REPORT_FORMAT = _p(  # §2, §5 "reportFormat"
    "reportFormat", "single", "default json", values=REPORT_FORMATS, by_client=True
)
REPORT_METRICS = _p(  # §2; no column list is published: §3 "Column lists"
    "reportMetrics",
    "repeated",
    "one per column; absent: every enabled column; the column lists are not published",
    by_client=True,
    cite="§2, §3",
)
SMART_VIEW_ID = _p(  # §2, §5 "smartViewId"
    "smartViewId",
    "single",
    "exactly one smart view id, from Care /api/v2/smartviews",
    cite="§2, §5",
)
TIMEZONE = _p(  # §2, §5 "Times"
    "timezone",
    "single",
    "a time zone id from /config/timezones, e.g. America/Chicago; changes only how dates are "
    "formatted",
    cite="§2, §5",
)
TIMEZONE_OFFSET = _p(  # §2
    "timezoneOffset",
    "single",
    "signed offset in ms (UTC+1: 3600000, UTC-1: -3600000); changes only how dates are "
    "formatted, ignores DST",
)
WORKQUEUE_IDS = _p(  # §2
    "workqueueIds", "comma", "comma-separated ids, from Care /api/v2/workqueues/active"
)
BASE: tuple[Param, ...] = (
    COMPANY_KEY,
    START_TIME,
    END_TIME,
    BUSINESS_HOUR_TYPE,
    ENABLE_BUSINESS_HOUR,
    LOCALE,
    PRIORITIES_PARAM,
    REPORT_FORMAT,
    REPORT_METRICS,
    SMART_VIEW_ID,
    TIMEZONE,
    TIMEZONE_OFFSET,
    WORKQUEUE_IDS,
)

# --- §2 "Extra parameters, each used only by certain exports" -----------------------------------
CONVERSATION_REPORT_TYPE = _p(  # §2
    "conversationReportType",
    "single",
    "OPEN_AT_END: open at the end of the range (default), CLOSED: closed during it, CREATED: "
    "created during it",
    values=CONVERSATION_REPORT_TYPES,
)
TEAM_IDS = _p(  # §2; the teamId of /teams: §4.1
    "teamIds", "comma", "comma-separated team ids (the teamId of /teams)", cite="§2, §4.1"
)
INCLUDE_DISABLED = _p(  # §2: declared a string, default 'false'
    "includeDisabled",
    "boolean",
    "include turned-off agents; declared a string, default 'false'",
    declared="string",
)
INCLUDE_DISABLED_USER = _p(  # §2: declared a boolean on `user`, default false
    "includeDisabled", "boolean", "include turned-off agents; default false"
)
TIME_INTERVAL = _p(  # §2 (required on team_performance_interval), §5 "timeInterval values"
    "timeInterval",
    "single",
    "bucket size in ms; above 1 week means monthly; a 1-week range takes only 28800000, 43200000 "
    "or 86400000, a 1-month range only 86400000 or 604800000, else 'Too many buckets'",
    values=tuple(str(value) for value in TIME_INTERVALS),
    required=True,
    cite="§2, §5",
)
RAISELIMIT = _p(  # §2, §5 "conversation_history_action"
    "raiselimit", "boolean", "true raises the cap on actions per conversation from 500 to 2000"
)
AGENT_ID = _p(  # §2, §6 surprise 5
    "agentId", "repeated", "once per agent id (singular name)", cite="§2, §6 surprise 5"
)
TEAM_ID = _p(  # §2, §6 surprise 5
    "teamId",
    "repeated",
    "once per team id (singular name; the teamId of /teams)",
    cite="§2, §6 surprise 5",
)

_BODY_NOTE = (
    "POST: companyKey in the query, the rest declared as a JSON body; the example sends a form "
    "body, which is what the client sends (§3, §6 surprise 4)"
)

CARE_EXPORTS: Mapping[str, Export] = MappingProxyType(
    {
        export.export_id: export
        for export in (
            Export(  # §3
                "conversation_actions",
                "Conversation Actions",
                ("GET", "POST"),
                "body",
                BASE,
                notes=(_BODY_NOTE,),
            ),
            Export(  # §3
                "user",
                "User",
                ("GET", "POST"),
                "body",
                (
                    COMPANY_KEY,
                    START_TIME,
                    END_TIME,
                    AGENT_ID,
                    TEAM_ID,
                    INCLUDE_DISABLED_USER,
                    LOCALE,
                    REPORT_FORMAT,
                    REPORT_METRICS,
                ),
                notes=(
                    "does not take the BASE parameters (§3)",
                    "startTime and endTime affect only the Total Time data (§3)",
                    "its create answer already carries a downloadUrl (§3, §6 surprise 10)",
                    _BODY_NOTE,
                ),
            ),
            Export("author", "Raw Author", ("POST",), "query", BASE),  # §3
            Export("combined", "Combined Raw", ("POST",), "query", BASE),  # §3
            Export(  # §3
                "conversation",
                "Raw Conversation",
                ("POST",),
                "query",
                (*BASE, CONVERSATION_REPORT_TYPE),
                notes=("the quick start creates it with GET (intro)",),
            ),
            Export(  # §3
                "conversation_history_action",
                "Conversation History Action",
                ("POST",),
                "body",
                (*BASE, RAISELIMIT),
                post_query=("companyKey", "raiselimit"),
                notes=(
                    "at most 500 actions per conversation, 2000 with raiselimit=true (§3, §5)",
                    "POST: companyKey and raiselimit in the query, the rest declared as a JSON "
                    "body; the example sends a form body, which is what the client sends (§3)",
                ),
            ),
            Export("incoming_post", "Raw Incoming Post", ("POST",), "query", BASE),  # §3
            Export("raw_agent_states", "Agent State", ("POST",), "query", (*BASE, TEAM_IDS)),  # §3
            Export("raw_expert_help", "Raw Help Request", ("POST",), "query", BASE),  # §3
            Export(  # §3
                "response",
                "Raw Response",
                ("POST",),
                "query",
                BASE,
                notes=("not in the generic endpoint's report_type list (§3)",),
            ),
            Export(  # §3
                "response_approval",
                "Raw Response Approval",
                ("POST",),
                "query",
                (*BASE, INCLUDE_DISABLED),
            ),
            Export(  # §3
                "team_performance",
                "Raw Team Performance",
                ("POST",),
                "query",
                (*BASE, INCLUDE_DISABLED, TEAM_IDS),
            ),
            Export(  # §3
                "team_performance_interval",
                "Team Performance Interval",
                ("POST",),
                "query",
                (*BASE, INCLUDE_DISABLED, TEAM_IDS, TIME_INTERVAL),
            ),
        )
    }
)
"""The 13 Care export IDs (§3). "Methods" are the reference's; the quick start creates
`conversation` with GET (intro) and a third-party client GETs every export (§5, client X), so a
GET is not refused anywhere. Every export path is /api/public/reports/report/<export ID> (§3)."""

GENERIC_REPORT_TYPES = (
    "author",
    "combined",
    "conversation",
    "incoming_post",
    "raw_expert_help",
    "raw_agent_states",
    "response_approval",
    "team_performance",
    "team_performance_interval",
)
"""The report_type values of the older generic `POST /reports/report/{report_type}`, which shares
the exports' path and answers `{workflowId, runId}` alone, with no statusUrl (§3, §4.2, §6
surprise 7). It declares no business-hour parameters and timeInterval as optional (§2, §3)."""

PUBLISHING_NOTE = (
    "Publishing export IDs and their parameters are not published (API-CATALOG.md §3): "
    "sent as written, unchecked"
)
"""Only the UI name "Raw Brand Post" and a campaign filter of unverified spelling are known; no
path, export ID or parameter name for Publishing exists in the reference (§3, §6 surprise 8)."""


def export_for(source: Source, export_id: str) -> Export | None:
    """The catalog's entry, or None for a Publishing export or an id the reference lacks."""
    return CARE_EXPORTS.get(export_id) if source == "care" else None


def split_post(
    export: Export | None, params: Sequence[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]] | None]:
    """A POST's (query, form body) for `params` (companyKey excluded): everything in the query for
    most exports, a form body for the three that declare one (§3, §6 surprise 4). For an export
    the reference lacks (Publishing, or an unknown id) nothing is stated: the form body of the
    quick-start era is kept (API-NOTES.md)."""
    if export is not None and export.post == "query":
        return list(params), None
    kept = export.post_query if export is not None else ()
    return [p for p in params if p[0] in kept], [p for p in params if p[0] not in kept]


def status_path(workflow_id: str, run_id: str) -> str:
    """The documented status path of a run, both ids percent-encoded (`+` %2B, `/` %2F, `=` %3D)."""
    return STATUS_PATH.format(
        workflow_id=quote(workflow_id, safe=""), run_id=quote(run_id, safe="")
    )


def filter_names() -> frozenset[str]:
    """Every parameter some Care export takes as a filter (not set by the client)."""
    return frozenset(
        param.name
        for export in CARE_EXPORTS.values()
        for param in export.params
        if not param.by_client
    )


def takers(name: str) -> tuple[str, ...]:
    """The export IDs that take parameter `name`."""
    return tuple(e.export_id for e in CARE_EXPORTS.values() if e.param(name) is not None)
