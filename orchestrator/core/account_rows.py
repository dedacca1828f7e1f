"""The rows of the helper endpoints, `GET /teams` and `GET /config/timezones`, as published.

API-CATALOG.md §4.1: a team is `{uuid, teamId (an integer, e.g. 6222), name, description (null in
the examples), numberOfMembers (an integer)}`, with no `id`; a time zone is `{id ("Pacific/Apia"),
name, shortName, offsetString ("+14:00"), offsetMillis (an integer)}`. The shapes this tool guessed
before the reference was read (teams `{id, name, members: [ids or {id}]}`, zones as bare id strings)
are still read, so an account answering either way is understood. Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Team:
    """One team as a person needs it: the id `teamIds` filters take, name, size, description."""

    team_id: str
    """`teamId` (published), else `id` (guessed), else "?"."""
    name: str
    description: str
    members: int | None
    """`numberOfMembers` (published), else the length of a `members` list (guessed)."""
    member_ids: tuple[str, ...] | None = None
    """The guessed shape's member ids; the published shape lists none."""


@dataclass(frozen=True, slots=True)
class Zone:
    """One time zone the account's exports may be formatted in (the `timezone` parameter)."""

    id: str
    name: str = ""
    short_name: str = ""
    offset_string: str = ""
    offset_millis: int | None = None


def read_team(row: object) -> Team:
    """A team from either shape; what is missing shows as "?" or nothing, never an error."""
    fields = row if isinstance(row, dict) else {"id": row}
    identity = fields.get("teamId", fields.get("id", "?"))
    listed = fields.get("members")
    member_ids = tuple(_member_id(m) for m in listed) if isinstance(listed, list) else None
    count = _count(fields.get("numberOfMembers"))
    if count is None and member_ids is not None:
        count = len(member_ids)
    return Team(
        team_id=str(identity),
        name=_text(fields.get("name")),
        description=_text(fields.get("description")),
        members=count,
        member_ids=member_ids,
    )


def read_zone(row: object) -> Zone | None:
    """A zone from a published row or a bare id string; None when it carries no id."""
    if isinstance(row, str) and row:
        return Zone(row)
    if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row["id"]:
        return None
    offset = row.get("offsetMillis")
    return Zone(
        id=row["id"],
        name=_text(row.get("name")),
        short_name=_text(row.get("shortName")),
        offset_string=_text(row.get("offsetString")),
        offset_millis=offset if isinstance(offset, int) and not isinstance(offset, bool) else None,
    )


def _member_id(member: object) -> str:
    if isinstance(member, dict):
        return str(member.get("id", "?"))
    return str(member)


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _text(value: object) -> str:
    return "" if value is None else str(value)
