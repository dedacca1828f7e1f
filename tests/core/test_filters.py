"""Filter entries become the wire pairs the API expects, or a clear refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.filters import RESERVED, FilterSet, encode_filters
from orchestrator.errors import FilterError


def test_the_documented_lists_are_comma_joined() -> None:
    """priorities, workqueueIds and teamIds each become one comma-separated pair."""
    encoded = encode_filters({"priorities": [0, 1], "workqueueIds": [15, 21], "teamIds": ["7"]})
    assert encoded.params == (
        ("priorities", "0,1"),
        ("teamIds", "7"),
        ("workqueueIds", "15,21"),
    )


def test_other_lists_repeat_the_parameter_in_order() -> None:
    """teamId and any other list are sent once per value, values in the order written."""
    encoded = encode_filters({"teamId": [3, 1], "agentId": ["b", "a"]})
    assert encoded.params == (("agentId", "b"), ("agentId", "a"), ("teamId", "3"), ("teamId", "1"))


def test_scalars_are_written_as_the_api_reads_them() -> None:
    """Booleans are lower case, integers decimal, text untouched."""
    encoded = encode_filters({"includeDisabled": True, "raiselimit": False, "smartViewId": 12})
    assert encoded.params == (
        ("includeDisabled", "true"),
        ("raiselimit", "false"),
        ("smartViewId", "12"),
    )
    assert encode_filters({"timezone": "America/Chicago"}).params == (
        ("timezone", "America/Chicago"),
    )


def test_the_label_is_kept_but_never_sent() -> None:
    """label names the file; it is not one of the wire pairs."""
    assert encode_filters({"label": "urgent", "priorities": [0]}) == FilterSet(
        "urgent", (("priorities", "0"),)
    )
    assert encode_filters({}) == FilterSet()


@given(st.permutations(["teamId", "priorities", "agentId", "smartViewId", "label"]))
def test_key_order_does_not_change_the_encoding(order: list[str]) -> None:
    """The same entry written with its keys in any order encodes identically."""
    values = {"teamId": [2, 1], "priorities": [5], "agentId": 9, "smartViewId": "x", "label": "a"}
    encoded = encode_filters({name: values[name] for name in order})
    assert encoded == encode_filters(values)


@pytest.mark.parametrize("name", [*sorted(RESERVED), "companykey", "STARTTIME"])
def test_parameters_the_client_sets_are_refused(name: str) -> None:
    """companyKey, startTime, ... (in any case) cannot be smuggled in as filters."""
    with pytest.raises(FilterError, match="set by the client") as caught:
        encode_filters({name: "1"})
    assert caught.value.param == name


@pytest.mark.parametrize("label", ["../x", "a..b", "/etc", ".hidden", "a/b", "x" * 65, "", 5])
def test_labels_cannot_leave_the_output_directory(label: object) -> None:
    """Labels with '..', slashes, a leading dot, too many characters or not text are refused."""
    with pytest.raises(FilterError) as caught:
        encode_filters({"label": label})
    assert caught.value.param == "label"


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"teamId": []}, "empty list"),
        ({"teamId": None}, "no value"),
        ({"teamId": [None]}, "no value"),
        ({"teamId": {"a": 1}}, "must be text"),
        ({"teamId": [[1]]}, "must be text"),
        ({"teamId": 1.5}, "must be text"),
        ({"teamId": " "}, "must be text"),
        ({"priorities": ["1,2"]}, "may not contain ','"),
        ({"9lives": 1}, "not an API parameter name"),
        ({"team id": 1}, "not an API parameter name"),
        ({True: 1}, "not an API parameter name"),
    ],
)
def test_values_the_api_cannot_take_are_refused(entry: dict[object, object], words: str) -> None:
    """Empty, missing, nested, fractional or ambiguous values and bad names raise FilterError."""
    with pytest.raises(FilterError, match=words):
        encode_filters(entry)


def test_an_entry_must_be_a_mapping() -> None:
    """A bare word in the filters list is refused with a hint at the expected shape."""
    with pytest.raises(FilterError, match="must be a mapping"):
        encode_filters("urgent")
