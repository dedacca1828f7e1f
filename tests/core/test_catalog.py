"""The vendor's catalog as data: its 13 Care exports, their methods and POST transport, each
parameter's kind and values, and that every fact cites its section of API-CATALOG.md."""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator.core import catalog
from orchestrator.core.catalog import CARE_EXPORTS, export_for, split_post, status_path
from orchestrator.core.filters import COMMA_JOINED, KNOWN_PARAMS, RESERVED

PARAMS = [("startTime", "1"), ("endTime", "2"), ("raiselimit", "true"), ("locale", "en")]


def test_the_catalog_holds_the_13_care_export_ids_with_their_methods() -> None:
    """The 13 IDs of API-CATALOG.md §3; only conversation_actions and user list GET too."""
    assert set(CARE_EXPORTS) == {
        "conversation_actions",
        "user",
        "author",
        "combined",
        "conversation",
        "conversation_history_action",
        "incoming_post",
        "raw_agent_states",
        "raw_expert_help",
        "response",
        "response_approval",
        "team_performance",
        "team_performance_interval",
    }
    both = {e.export_id for e in CARE_EXPORTS.values() if e.methods == ("GET", "POST")}
    assert both == {"conversation_actions", "user"}
    assert CARE_EXPORTS["raw_expert_help"].ui_name == "Raw Help Request"


def test_each_parameter_has_its_kind_values_and_requirement() -> None:
    """priorities 0-5 comma-joined, reportMetrics repeated, smartViewId single, includeDisabled
    a boolean declared a string except on user, timeInterval required on its one export."""
    interval = CARE_EXPORTS["team_performance_interval"]
    param = interval.param("priorities")
    assert param is not None and param.kind == "comma" and param.values == tuple("012345")
    assert [interval.param(n).kind for n in ("reportMetrics", "smartViewId")] == [  # type: ignore[union-attr]
        "repeated",
        "single",
    ]
    disabled, user_disabled = (
        interval.param("includeDisabled"),
        CARE_EXPORTS["user"].param("includeDisabled"),
    )
    assert disabled is not None and user_disabled is not None
    assert (disabled.kind, disabled.declared, user_disabled.declared) == (
        "boolean",
        "string",
        "boolean",
    )
    required = {p.name for e in CARE_EXPORTS.values() for p in e.params if p.required}
    assert required == {"companyKey", "startTime", "endTime", "timeInterval"}
    assert catalog.takers("timeInterval") == ("team_performance_interval",)
    conversation = CARE_EXPORTS["conversation"].param("conversationReportType")
    assert conversation is not None
    assert conversation.values == ("OPEN_AT_END", "CLOSED", "CREATED")


def test_user_takes_only_its_own_parameters() -> None:
    """`user` takes agentId and teamId (repeated), not the BASE filters (§3)."""
    assert CARE_EXPORTS["user"].names == (
        "companyKey",
        "startTime",
        "endTime",
        "agentId",
        "teamId",
        "includeDisabled",
        "locale",
        "reportFormat",
        "reportMetrics",
    )


def test_the_catalog_agrees_with_the_filter_encoder() -> None:
    """The documented filter names, the comma-joined ones and the client's own are the catalog's."""
    params = [p for e in CARE_EXPORTS.values() for p in e.params]
    assert catalog.filter_names() == KNOWN_PARAMS
    assert {p.name for p in params if p.kind == "comma"} == COMMA_JOINED
    assert {p.name for p in params if p.by_client} == set(RESERVED)


def test_every_fact_cites_its_section() -> None:
    """Each parameter and export definition carries a `§` citation in a comment, and each
    parameter's `cite` names a section."""
    source = Path(catalog.__file__).read_text()
    definitions = [line for line in source.splitlines() if re.search(r"= _p\(|^ +Export\(", line)]
    assert len(definitions) == 13 + 21  # 13 exports, 21 parameter definitions
    assert [line for line in definitions if "# §" not in line] == []
    assert all(p.cite.startswith("§") for e in CARE_EXPORTS.values() for p in e.params)


def test_a_post_sends_its_parameters_where_the_examples_do() -> None:
    """All in the query for most exports; a form body for the three that declare one, with
    raiselimit kept in the query for conversation_history_action; a form body when unknown."""
    assert split_post(CARE_EXPORTS["conversation"], PARAMS) == (PARAMS, None)
    assert split_post(CARE_EXPORTS["user"], PARAMS) == ([], PARAMS)
    assert split_post(CARE_EXPORTS["conversation_history_action"], PARAMS) == (
        [("raiselimit", "true")],
        [("startTime", "1"), ("endTime", "2"), ("locale", "en")],
    )
    assert split_post(export_for("publishing", "raw_brand_post"), PARAMS) == ([], PARAMS)
    assert export_for("care", "no_such_export") is None


def test_the_status_path_percent_encodes_both_ids() -> None:
    """+, / and = of a runId travel as %2B, %2F and %3D under the documented status path."""
    assert status_path("cc645bd3-9def", "23IS1+Anp/9m=") == (
        "/api/public/reports/report/cc645bd3-9def/23IS1%2BAnp%2F9m%3D/status"
    )
