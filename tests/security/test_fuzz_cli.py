"""Fuzzing the CLI entry point with manifests and settings, as the issue asks.

Whatever manifest text or ORCHESTRATOR_* environment arrives, `main` ends with exit code 0 or 2 and,
on 2, a message on stderr that starts with "orchestrator:"; never an uncaught exception, never a hang
(each call runs under a SIGALRM time limit, which turns a hang into a failure instead of a stall).
Nothing here reaches the network: `validate`, `plan` and `config` never do, and `run` is only given
settings or manifests it must refuse before it starts (its API origin is a closed loopback port).

The last section pins hostile inputs the fuzzing once found crashing or crawling (fixed in 9ef63cf),
and an error report bounded however many mistakes a file holds.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from orchestrator.cli import main
from orchestrator.core.manifest import load_manifest
from orchestrator.core.planner import plan
from orchestrator.errors import ManifestError
from tests.core.strategies import AS_OF, EXAMPLE, valid_manifests
from tests.depth import scaled

ROOT = Path(__file__).resolve().parents[2]
AS_OF_ARG = AS_OF.isoformat()
TIME_LIMIT = 10.0
"""Seconds any single call of `main` may take, pathological input included."""
PREFIX = "ORCHESTRATOR_"
CLOSED_PORT_URL = "http://127.0.0.1:9"
"""The discard port on loopback: nothing listens, so even a run that did start would go nowhere."""


def fuzz(examples: int) -> settings:
    """Hypothesis settings for `examples` runs of a body that calls `main` and writes files:
    a third of them in `make test`, four thirds in `make soak` (see tests/depth.py)."""
    return settings(
        max_examples=scaled(examples, quick=1 / 3),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# ----------------------------------------------------------------------------- running `main`


class Hang(BaseException):
    """Raised by the alarm when a call runs past its limit; a BaseException so nothing catches it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `Hang` in the main thread if the block is still running after `seconds`.

    The alarm repeats every 0.2 s: a signal that lands in a gc callback or a finaliser has its
    exception swallowed (and sent to sys.unraisablehook, here told to ignore it), so a later one
    must land in the code that hangs.
    """

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds} s")

    def unraisable(report: Any) -> None:
        if not isinstance(report.exc_value, Hang):
            previous_hook(report)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.2)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = previous_hook


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    seconds: float


def invoke(argv: Sequence[str], *, limit: float = TIME_LIMIT) -> Outcome:
    """Call `main` with stdout and stderr captured, under a time limit."""
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with time_limit(limit), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return Outcome(code, out.getvalue(), err.getvalue(), time.monotonic() - started)


def assert_clean(result: Outcome, allowed: frozenset[int] = frozenset({0, 2})) -> None:
    """An allowed exit code, and on 2 a message of our own on stderr."""
    assert result.code in allowed, f"exit {result.code}\nstdout: {result.out}\nstderr: {result.err}"
    if result.code == 2:
        assert result.err.startswith("orchestrator:"), result.err
        assert result.err.removeprefix("orchestrator:").strip(), "an empty message"


def check_manifest_commands(path: Path, *extra: str) -> tuple[Outcome, Outcome]:
    """`validate` and `plan --json` on one file: clean exits, the same verdict, parseable JSON."""
    validated = invoke(["validate", str(path), "--as-of", AS_OF_ARG, *extra])
    assert_clean(validated)
    planned = invoke(["plan", str(path), "--as-of", AS_OF_ARG, "--json", *extra])
    assert_clean(planned)
    assert validated.code == planned.code
    if planned.code == 0:
        assert "valid" in validated.out
        document = json.loads(planned.out)
        assert document["as_of"] == AS_OF_ARG
        assert document["total"] == len(document["jobs"])
    return validated, planned


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder per module: hypothesis reruns a test body, so files are overwritten in place."""
    return tmp_path_factory.mktemp("fuzz")


# ----------------------------------------------------------------------------- generated manifests

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(
        ["0d", "-1d", "1x", "today+1d", "today-100000mo", "2024-02-30", "9999-12-31", "0001-01-01"]
    ),
    st.sampled_from(["companyKey", "UTC", "Mars/Olympus", "POST", "xml", "../etc", "a" * 300]),
    st.lists(st.integers(-3, 3) | st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=4), max_size=3),
)
KEYS = st.sampled_from(
    [
        *("version", "timezone", "defaults", "exports", "name", "export_id", "range", "start"),
        *("end", "window", "filters", "columns", "label", "method", "companyKey", "windw", "", "1"),
    ]
)


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every node of a YAML-like tree, the root first."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


@st.composite
def damaged(draw: st.DrawFn, data: Any) -> Any:
    """`data` with one node replaced, removed, or given a new neighbour."""
    data = copy.deepcopy(data)
    path = draw(st.sampled_from(list(_nodes(data))))
    junk = draw(JUNK)
    if not path:
        return junk
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace":
        parent[path[-1]] = junk
    elif action == "remove":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(KEYS)] = junk
    else:
        parent.insert(path[-1], junk)
    return data


@st.composite
def generated_manifests(draw: st.DrawFn) -> Any:
    """A manifest from tests.core.strategies, intact or with up to three nodes damaged."""
    data = draw(valid_manifests())
    for _ in range(draw(st.integers(0, 3))):
        data = draw(damaged(data))
    return data


@pytest.mark.slow
@fuzz(400)
@given(generated_manifests())
def test_generated_manifests_exit_0_or_2_with_a_message(workdir: Path, data: Any) -> None:
    """Generated manifests, valid or damaged, make validate and plan --json exit 0 (with JSON) or 2 (with a message)."""
    path = workdir / "generated.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    _, planned = check_manifest_commands(path)
    event(f"exit {planned.code}")


# ----------------------------------------------------------------------------- mutated manifests


EDGE_DATES = (date.min, date(1, 6, 1), date(2, 7, 1), date(9999, 12, 1), date.max)


def _readme_manifests() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [
        block for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if "exports" in block
    ]


SEEDS = ((ROOT / "jobs.yaml").read_text(encoding="utf-8"), EXAMPLE, *_readme_manifests())
SCALARS = (
    *("-1", "0", "0d", "0h", "-3d", "100001d", "999999999999h", "1.5d", "1 d", "1mo", "13mo"),
    *("~", "null", "[]", "{}", "''", '""', "[", "{", "}", "]", ",", ":", "- ", "? x", "|", ">"),
    *("2024-02-30", "2024-13-01", "0001-01-01", "9999-12-31", "9999-12-31T23:59:59+14:00"),
    *("2024-01-01T25:00", "2024-03-10T02:30", "today+1d", "today-100000mo", "yesterday-1d"),
    *("*a", "&a x", "<<: *a", "!!python/object/apply:os.system ['true']", "!!binary AAAA", "!x y"),
    *(".inf", "-.inf", ".nan", "yes", "no", "on", "0x1F", "0o17", "1e400", "1" * 5000, "%YAML 1.1"),
    *("---", "...", "#", "\t", "\t- x", "é", "日本語", "\u202e", "\U0001f600", "\ufeff", "\x85"),
    *("\x00", "\x1b[31m", "\\", "'unterminated", '"\\x00"', "x" * 10_000, "a" * 70, "../x", "UTC"),
    *("Europe/Nowhere", "companyKey", "startTime", "POST", "publishing", "json", "xml"),
)
FIELD_KEYS = (
    *("version", "timezone", "defaults", "exports", "name", "export_id", "range", "start", "end"),
    *("window", "filters", "columns", "label", "source", "format", "locale", "method", "bogus"),
)
INDENTS = st.sampled_from(["", " ", "  ", "    ", "\t", "   "])
scalars = st.sampled_from(SCALARS)
noise = st.text(st.characters(codec="utf-8"), max_size=12)
new_lines = st.one_of(
    scalars,
    noise,
    st.builds(lambda i, k, v: f"{i}{k}: {v}", INDENTS, st.sampled_from(FIELD_KEYS), scalars),
    st.builds(lambda i, v: f"{i}- {v}", INDENTS, scalars),
)
_TOKEN = re.compile(r"[A-Za-z0-9_.:+/-]+")


@st.composite
def mutated_texts(draw: st.DrawFn) -> str:
    """A valid manifest text with lines deleted, duplicated, swapped, inserted, re-indented or cut,
    tokens replaced by odd YAML scalars, and random characters inserted."""
    lines = draw(st.sampled_from(SEEDS)).split("\n")
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        operation = draw(
            st.sampled_from(
                ["delete", "duplicate", "swap", "insert", "token", "chars", "indent", "cut"]
            )
        )
        if operation == "delete" and len(lines) > 1:
            del lines[at]
        elif operation == "duplicate":
            lines.insert(at, line)
        elif operation == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], line
        elif operation == "insert":
            lines.insert(at, draw(new_lines))
        elif operation == "token" and _TOKEN.search(line):
            match = draw(st.sampled_from(list(_TOKEN.finditer(line))))
            lines[at] = line[: match.start()] + draw(scalars) + line[match.end() :]
        elif operation == "chars":
            position = draw(st.integers(0, len(line)))
            lines[at] = line[:position] + draw(noise | scalars) + line[position:]
        elif operation == "indent":
            lines[at] = draw(INDENTS) + line.lstrip(" ")
        elif operation == "cut":
            lines = [*lines[:at], line[: draw(st.integers(0, len(line)))]]
    return draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)


@st.composite
def broken_bytes(draw: st.DrawFn) -> bytes:
    """Random bytes, or a manifest with invalid UTF-8, NUL, a BOM or another encoding spliced in."""
    seed = draw(st.sampled_from(SEEDS)).encode("utf-8")
    position = draw(st.integers(0, len(seed)))
    splice = draw(
        st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf", b"\x80\x80"])
        | st.binary(max_size=8)
    )
    return draw(
        st.one_of(
            st.binary(max_size=400),
            st.just(seed[:position] + splice + seed[position:]),
            st.just(b"\xef\xbb\xbf" + seed),
            st.just(b"\xff\xfe" + draw(st.sampled_from(SEEDS)).encode("utf-16-le")),
        )
    )


manifest_bytes = st.one_of(
    mutated_texts().map(lambda text: text.encode("utf-8")),
    st.text(max_size=300).map(lambda text: text.encode("utf-8")),
    broken_bytes(),
)


@pytest.mark.slow
@fuzz(400)
@given(generated_manifests() | mutated_texts(), st.dates() | st.sampled_from(EDGE_DATES))
def test_any_run_date_exits_0_or_2_with_a_message(workdir: Path, data: Any, as_of: date) -> None:
    """Generated and mutated manifests planned as of any date, years 1 and 9999 included, exit 0 or 2 with a message."""
    path = workdir / "dated.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    for command in (["validate"], ["plan", "--json"]):
        assert_clean(invoke([*command, str(path), "--as-of", as_of.isoformat()]))


@pytest.mark.slow
@fuzz(1200)
@given(manifest_bytes)
def test_mutated_manifests_exit_0_or_2_with_a_message(workdir: Path, content: bytes) -> None:
    """Mutated manifest texts, random text and undecodable bytes make validate and plan exit 0 or 2 with a message."""
    path = workdir / "mutated.yaml"
    path.write_bytes(content)
    _, planned = check_manifest_commands(path)
    event(f"exit {planned.code}")


# ----------------------------------------------------------------------------- pathological inputs


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "version: 1\n" + "\n".join(lines) + "\nexports: [{name: x, export_id: y}]\n"


def _manifest(range_text: str, window: str = "1d", more: str = "") -> str:
    return (
        "version: 1\nexports:\n  - name: a\n    export_id: conversation\n"
        f"    range: {range_text}\n    window: {window}\n{more}"
    )


CENTURY_HOURLY = _manifest("{start: 1950-01-01, end: 2050-01-01}", "1h")
MONTH_DAILY = _manifest("{start: 2024-04-01, end: 2024-05-01}", "1d")
MANY_EXPORTS = (
    "version: 1\ndefaults: {export_id: x, range: {start: 2024-01-01, end: 2024-01-12}}\nexports:\n"
    + "".join(f" - {{name: e{i}}}\n" for i in range(10_000))
)
"""10,000 exports of 11 daily windows each: 110,000 jobs, over the default ceiling of 100,000."""

PATHOLOGICAL: dict[str, tuple[bytes, tuple[str, ...], str]] = {
    # name: (file content, extra arguments, a piece of the expected message)
    "billion-laughs": (_alias_bomb().encode(), (), "anchors and aliases"),
    "2-mib-of-comments": (b"version: 1\n" + b"# padding\n" * 220_000, (), "over 1,048,576 bytes"),
    "2-mib-one-line": (b"version: " + b"1" * (2 << 20), (), "over 1,048,576 bytes"),
    "100-years-of-1h-windows": (CENTURY_HOURLY.encode(), (), "more than 100,000 jobs"),
    "30-days-daily-over-max-jobs-10": (
        MONTH_DAILY.encode(),
        ("--max-jobs", "10"),
        "more than 10 jobs",
    ),
    "10000-exports-over-the-ceiling": (MANY_EXPORTS.encode(), (), "more than 100,000 jobs"),
    "negative-max-jobs": (MONTH_DAILY.encode(), ("--max-jobs", "-1"), "--max-jobs"),
    "empty-file": (b"", (), "empty"),
    "only-comments": (b"# nothing here\n\n   \n", (), "empty"),
    "only-a-document-marker": (b"---\n", (), "invalid manifest"),
    "null-document": (b"~\n", (), "must be a mapping"),
    "top-level-list": (b"- version: 1\n- exports: []\n", (), "must be a mapping"),
    "top-level-scalar": (b"version\n", (), "must be a mapping"),
    "two-documents": (b"version: 1\n---\nversion: 1\n", (), "not valid YAML"),
    "10000-nested-lists": (b"[" * 10_000 + b"]" * 10_000, (), "nested too deeply"),
    "10000-nested-mappings": (b"{a: " * 10_000 + b"1" + b"}" * 10_000, (), "nested too deeply"),
    "1000-nested-block-lists": (
        "".join(" " * depth + "-\n" for depth in range(1000)).encode(),
        (),
        "nested too deeply",
    ),
    "5000-nested-lists-in-filters": (
        _manifest("{start: 2024-01-01, end: 2024-01-02}", more="    filters: ").encode()
        + b"[" * 5000
        + b"]" * 5000,
        (),
        "nested too deeply",
    ),
    "5000-digit-integer": (
        _manifest("{start: 2024-01-01, end: 2024-01-02}", more="    filters: [{teamId: ").encode()
        + b"7" * 5000
        + b"}]\n",
        (),
        "not valid YAML",
    ),
    "python-object-tag": (
        b"version: 1\nexports: !!python/object/apply:os.system ['echo pwned']\n",
        (),
        "not valid YAML",
    ),
    "invalid-utf-8": (b"version: 1\nexports: \xff\xfe\n", (), "not UTF-8"),
    "utf-16": ("\ufeffversion: 1\n".encode("utf-16-le"), (), "not UTF-8"),
    "nul-bytes": (b"version: 1\x00\nexports: []\n", (), "not valid YAML"),
    "range-back-100000-months": (
        _manifest("{start: today-100000mo, end: today}").encode(),
        (),
        "out of the supported range",
    ),
    "range-past-year-9999": (
        _manifest("{start: 9999-12-31, end: 9999-12-31T23:00-14:00}", "1h").encode(),
        (),
        "out of the supported range",
    ),
}


@pytest.mark.parametrize("case", sorted(PATHOLOGICAL))
def test_pathological_manifests_fail_fast_with_a_message(tmp_path: Path, case: str) -> None:
    """Alias bombs, oversized files, huge plans, deep nesting and other hostile files end in exit 2 within the time limit."""
    content, extra, expected = PATHOLOGICAL[case]
    path = tmp_path / "jobs.yaml"
    path.write_bytes(content)
    for result in check_manifest_commands(path, *extra):
        assert result.code == 2
        assert expected in result.err
        assert result.seconds < TIME_LIMIT


@pytest.mark.parametrize(
    ("given_path", "message"),
    [
        ("{tmp}", "{tmp} is a folder, not a manifest file"),
        ("{tmp}/missing.yaml", "{tmp}/missing.yaml: no such manifest file"),
        ("{tmp}/missing/jobs.yaml", "{tmp}/missing/jobs.yaml: no such manifest file"),
        ("/dev/null", "/dev/null is not a regular file"),
        ("/dev/zero", "/dev/zero is not a regular file"),
        ("", ". is a folder, not a manifest file"),
    ],
)
def test_unreadable_manifest_paths_fail_with_a_message(
    tmp_path: Path, given_path: str, message: str
) -> None:
    """A directory, a missing file, a device (even an endless one) or an empty path as the manifest ends in exit 2, saying which."""
    path = given_path.format(tmp=tmp_path)
    for command in (["validate"], ["plan", "--json"]):
        result = invoke([*command, path, "--as-of", AS_OF_ARG])
        assert_clean(result, frozenset({2}))
        assert message.format(tmp=tmp_path) in result.err


# ----------------------------------------------------------------------------- settings

env_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)
"""Any text an environment variable can hold (no NUL, no lone surrogate)."""

numbers = st.one_of(
    st.sampled_from(["1", "2", "10", "60", "0.5", "3600"]),
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(
        ["0", "-0", "-1", "1", "nan", "NaN", "inf", "-inf", "1e308", "1e309", "1e-320"]
    ),
    st.sampled_from(["0x10", "1_000", " 5 ", "1.5", "9" * 40, "", "true", "1,5", "½", "١٢"]),
)
HOSTS = (
    *("127.0.0.1", "localhost", "[::1]", "example.com", "10.0.0.1", "[::1", ":80", ""),
    *("ünï.example", "xn--nxasmq6b.com", "a" * 64 + ".com", "ex ample.com"),
    "0.0.0.0",  # noqa: S104 - a host in a URL to validate, never bound
)
urls = st.one_of(
    st.builds(
        lambda scheme, userinfo, host, rest: f"{scheme}://{userinfo}{host}{rest}",
        st.sampled_from(["https", "http", "HTTPS", "ftp", "file", "javascript", "ws", ""]),
        st.sampled_from(["", "user@", "user:pa55word@", ":@", "@", "a@b@"]),
        st.sampled_from(HOSTS),
        st.sampled_from(["", "/", "/api/", ":443", ":0", ":99999", ":-1", "?q=1", "#x", "/%zz"]),
    ),
    st.sampled_from(["", "https://", "http:/x", "//example.com", "example.com", "mailto:a@b"]),
    st.sampled_from(["https://example.com", "http://127.0.0.1:8080/", "https://[::1]:8443/api"]),
    env_text,
)
paths = st.one_of(
    st.sampled_from(["", ".", "/", "/dev/null", "/etc/passwd", "~", "../..", "ca.pem", "secrets"]),
    st.sampled_from(["missing.pem", "/nonexistent/x", "a/b/c", " ", "\t", "ca.pem/x"]),
    st.sampled_from(["a" * 256, "/var/" + "b" * 300 + "/c", "/".join(["d" * 200] * 30)]),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
)
"""Paths include components over NAME_MAX (255 bytes) and totals over PATH_MAX (4096)."""

secrets = st.one_of(
    env_text, st.text(st.characters(codec="ascii", exclude_characters="\x00"), min_size=6)
)
flags = st.sampled_from(["true", "false", "1", "0", "yes", "no", "on", "off", "TRUE", "maybe", ""])
choices = st.sampled_from(["auto", "console", "json", "JSON", "debug", "INFO", "Warning", "trace"])

FLOATS = (
    *("REQUESTS_PER_MINUTE", "POLL_FIRST_SECONDS", "POLL_MAX_SECONDS", "RETRY_BASE_SECONDS"),
    *("RETRY_MAX_SECONDS", "RESUBMIT_COOLDOWN_SECONDS", "MIN_WINDOW_SECONDS", "GRACE_SECONDS"),
    *("JOB_TIMEOUT_SECONDS", "REQUEST_TIMEOUT_SECONDS", "MAX_RUNTIME_SECONDS"),
)
INTS = ("MAX_IN_FLIGHT", "MAX_DOWNLOADS", "RETRY_ATTEMPTS", "RESUBMIT_ATTEMPTS", "MAX_JOBS")
SECRET_NAMES = ("USERNAME", "PASSWORD", "COMPANY_KEY")
MASKED_NAMES = ("PASSWORD", "COMPANY_KEY")
"""The credentials `config` never prints; the user name is shown (it is not a secret)."""
FIELDS: dict[str, st.SearchStrategy[str]] = {
    "BASE_URL": urls,
    "ALLOWED_ORIGINS": st.lists(urls, max_size=4).flatmap(
        lambda items: st.sampled_from([" ".join(items), ",".join(items)])
    ),
    "ALLOW_INSECURE_HTTP": flags | env_text,
    "CA_BUNDLE": paths,
    "SECRETS_DIR": paths,
    "OUT": paths,
    "JOURNAL": paths,
    "LOG_FORMAT": choices | env_text,
    "LOG_LEVEL": choices | env_text,
    "CARE_PATH": env_text,
    "PUBLISHING_PATH": env_text,
    **dict.fromkeys(FLOATS, numbers | env_text),
    **dict.fromkeys(INTS, numbers | env_text),
    **dict.fromkeys(SECRET_NAMES, secrets),
}
FILE_SECRETS = {"password": "Zq81-file-password", f"{PREFIX}COMPANY_KEY": "Zq81-file-key"}
"""Secret files in the `secrets` folder a generated SECRETS_DIR may name; never to be printed."""


@st.composite
def environments(draw: st.DrawFn, names: Sequence[str] = tuple(FIELDS)) -> dict[str, str]:
    """A few ORCHESTRATOR_* variables with values from their field's strategy."""
    chosen = draw(st.lists(st.sampled_from(sorted(names)), unique=True, max_size=len(names)))
    return {f"{PREFIX}{name}": draw(FIELDS[name]) for name in chosen}


@contextlib.contextmanager
def environment(folder: Path, variables: dict[str, str]) -> Iterator[None]:
    """Exactly `variables` as ORCHESTRATOR_* settings, run from `folder` (so no stray .env is read)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(PREFIX):
                patch.delenv(name)
        for name, value in variables.items():
            patch.setenv(name, value)
        patch.chdir(folder)
        yield


@pytest.fixture(scope="module")
def settings_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder with a CA file (`ca.pem`) and a secret-files folder (`secrets`)."""
    home = tmp_path_factory.mktemp("settings")
    (home / "ca.pem").write_text("not really a certificate\n")
    (home / "secrets").mkdir()
    for name, value in FILE_SECRETS.items():
        (home / "secrets" / name).write_text(value)
    return home


def _leaked(values: Sequence[str], result: Outcome, rerun: Outcome) -> list[str]:
    """Secret values printed by `result` that `rerun` (the same run with other secrets) does not
    print too: a value printed either way comes from the output's own text, not from the secret."""
    printed = result.out + result.err
    control = rerun.out + rerun.err
    return [value for value in values if value in printed and value not in control]


@pytest.mark.slow
@fuzz(1000)
@given(environments())
def test_settings_fuzz_exit_0_or_2_naming_the_variable(
    settings_home: Path, variables: dict[str, str]
) -> None:
    """Any ORCHESTRATOR_* environment makes `config` exit 0 or 2 naming the variable, and never print a secret."""
    with environment(settings_home, variables):
        result = invoke(["config"])
    assert_clean(result)
    event(f"exit {result.code}")
    if result.code == 2:
        assert PREFIX in result.err, result.err
    else:
        shown = json.loads(result.out)
        assert all(shown[name.lower()] in ("***", None) for name in MASKED_NAMES)
        assert shown["username"] in (variables.get(f"{PREFIX}USERNAME"), None)
    for secret in FILE_SECRETS.values():
        assert secret not in result.out + result.err
    given_secrets = {
        variable: value
        for name in MASKED_NAMES
        if len(value := variables.get(variable := f"{PREFIX}{name}", "")) >= 6
    }
    if any(value in result.out + result.err for value in given_secrets.values()):
        neutral = {**variables, **dict.fromkeys(given_secrets, "Neutral-9")}
        with environment(settings_home, neutral):
            rerun = invoke(["config"])
        assert not _leaked(list(given_secrets.values()), result, rerun), result


# ----------------------------------------------------------------------------- run, refused early

SAFE_RUN = {
    f"{PREFIX}BASE_URL": CLOSED_PORT_URL,
    f"{PREFIX}RETRY_ATTEMPTS": "1",
    f"{PREFIX}RESUBMIT_ATTEMPTS": "1",
    f"{PREFIX}MAX_RUNTIME_SECONDS": "5",
    f"{PREFIX}GRACE_SECONDS": "0",
}
CREDENTIALS = {
    f"{PREFIX}USERNAME": "fuzz-user",
    f"{PREFIX}PASSWORD": "fuzz-password",
    f"{PREFIX}COMPANY_KEY": "fuzz-company-key",
}
INVALID_VALUES = {
    "MAX_IN_FLIGHT": ["0", "-1", "x", "1.5", "nan"],
    "MAX_DOWNLOADS": ["0", ""],
    "MAX_JOBS": ["0", "-5"],
    "RETRY_ATTEMPTS": ["0", "many"],
    "REQUESTS_PER_MINUTE": ["0", "nan", "-inf", "-1"],
    "POLL_FIRST_SECONDS": ["0", "soon"],
    "RETRY_BASE_SECONDS": ["-1", "nan"],
    "GRACE_SECONDS": ["-0.5"],
    "MAX_RUNTIME_SECONDS": ["0", "nan", ""],
    "LOG_LEVEL": ["loud", ""],
    "LOG_FORMAT": ["xml"],
    "ALLOW_INSECURE_HTTP": ["maybe"],
    "CA_BUNDLE": ["missing.pem", "."],
    "BASE_URL": ["ftp://127.0.0.1:9", "not a url", "", "http://"],
    "ALLOWED_ORIGINS": ["ftp://x", "https://"],
}
"""Values refused whatever else is set (so the run cannot start)."""
RANDOM_EXTRAS = tuple(
    name
    for name in FIELDS
    if name not in {"BASE_URL", "ALLOW_INSECURE_HTTP", "SECRETS_DIR", *SECRET_NAMES}
)


@st.composite
def refused_run_environments(draw: st.DrawFn) -> dict[str, str]:
    """Settings `run` must refuse: at least one invalid value, or no credentials at all."""
    with_credentials = draw(st.booleans())
    broken = draw(
        st.lists(
            st.sampled_from(sorted(INVALID_VALUES)),
            unique=True,
            min_size=1 if with_credentials else 0,
            max_size=3,
        )
    )
    variables = draw(environments(RANDOM_EXTRAS))
    variables.update(SAFE_RUN)
    if with_credentials:
        variables.update(CREDENTIALS)
    for name in broken:
        variables[f"{PREFIX}{name}"] = draw(st.sampled_from(INVALID_VALUES[name]))
    return variables


def assert_refused_run(result: Outcome, out: Path) -> None:
    assert_clean(result, frozenset({2}))
    assert not out.exists(), "the run started: it created its output folder"


@fuzz(300)
@given(refused_run_environments())
def test_run_with_invalid_settings_exits_2_before_any_work(
    settings_home: Path, variables: dict[str, str]
) -> None:
    """`run` with invalid settings or no credentials exits 2 naming the variable, before creating any output."""
    out = settings_home / "run-out"
    manifest = settings_home / "valid.yaml"
    manifest.write_text(EXAMPLE)
    with environment(settings_home, {**variables, f"{PREFIX}OUT": str(out)}):
        result = invoke(["run", str(manifest), "--as-of", AS_OF_ARG])
    assert_refused_run(result, out)
    assert PREFIX in result.err


def _refused_by_planning(path: Path) -> bool:
    """Whether the manifest fails to load or plan, as `run` will find before starting."""
    try:
        plan(load_manifest(path), as_of=AS_OF)
    except ManifestError:
        return True
    return False


@fuzz(300)
@given(
    st.one_of(
        generated_manifests().map(
            lambda data: yaml.safe_dump(data, sort_keys=False).encode("utf-8")
        ),
        manifest_bytes,
    )
)
def test_run_with_an_invalid_manifest_exits_2_before_any_work(
    settings_home: Path, content: bytes
) -> None:
    """`run` with valid settings and an invalid manifest exits 2 with the manifest's problems, before creating any output."""
    out = settings_home / "run-out"
    manifest = settings_home / "invalid.yaml"
    manifest.write_bytes(content)
    assume(_refused_by_planning(manifest))
    variables = {**SAFE_RUN, **CREDENTIALS, f"{PREFIX}OUT": str(out)}
    with environment(settings_home, variables):
        result = invoke(["run", str(manifest), "--as-of", AS_OF_ARG])
    assert_refused_run(result, out)
    assert result.err.startswith("orchestrator: invalid manifest:")


# ----------------------------------------------------------------------------- regressions

LONG_NAME = "a" * 300
"""One path component over NAME_MAX (255 bytes): Path.is_file raises ENAMETOOLONG on Python 3.11."""


def test_a_run_date_in_year_one_plans_or_is_refused(tmp_path: Path) -> None:
    """`--as-of 0001-06-01` ends in exit 0 or 2, not a ValueError from the history warning."""
    path = tmp_path / "jobs.yaml"
    path.write_text(_manifest("{start: 2024-01-01, end: 2024-01-03}"))
    for command in (["validate"], ["plan", "--json"]):
        assert_clean(invoke([*command, str(path), "--as-of", "0001-06-01"]))


@pytest.mark.parametrize("variable", ["CA_BUNDLE", "SECRETS_DIR", "OUT", "JOURNAL"])
def test_overlong_path_settings_end_in_0_or_2(tmp_path: Path, variable: str) -> None:
    """A path setting with a component over 255 bytes makes `config` exit 0 or 2 naming it, not raise OSError."""
    with environment(tmp_path, {f"{PREFIX}{variable}": LONG_NAME}):
        result = invoke(["config"])
    assert_clean(result)
    if result.code == 2:
        assert f"{PREFIX}{variable}" in result.err


def test_overlong_manifest_path_is_refused_with_a_message() -> None:
    """A manifest path with a component over 255 bytes ends in exit 2, not an OSError."""
    assert_clean(invoke(["validate", LONG_NAME, "--as-of", AS_OF_ARG]), frozenset({2}))


def test_secret_file_that_is_not_utf8_is_refused_with_a_message(tmp_path: Path) -> None:
    """A secret file that is not UTF-8 makes `config` exit 2 with a message, not a pydantic-settings traceback."""
    (tmp_path / "password").write_bytes(b"\xff\xfe")
    with environment(tmp_path, {f"{PREFIX}SECRETS_DIR": str(tmp_path)}):
        assert_clean(invoke(["config"]), frozenset({2}))


def test_dotenv_that_is_not_utf8_is_refused_with_a_message(tmp_path: Path) -> None:
    """A `.env` file that is not UTF-8 makes `config` exit 2 with a message, not a UnicodeDecodeError."""
    (tmp_path / ".env").write_bytes(b"ORCHESTRATOR_PASSWORD=\xff\n")
    with environment(tmp_path, {}):
        assert_clean(invoke(["config"]), frozenset({2}))


@pytest.mark.parametrize("value", ["inf", "Infinity"])
def test_absurd_request_budget_is_refused_before_a_run(tmp_path: Path, value: str) -> None:
    """REQUESTS_PER_MINUTE=inf is refused (exit 2) before a run, not an OverflowError mid-run."""
    path = tmp_path / "jobs.yaml"
    path.write_text(_manifest("{start: 2024-01-01, end: 2024-01-02}"))
    out = tmp_path / "out"
    variables = {
        **SAFE_RUN,
        **CREDENTIALS,
        f"{PREFIX}OUT": str(out),
        f"{PREFIX}REQUESTS_PER_MINUTE": value,
    }
    with environment(tmp_path, variables):
        result = invoke(["run", str(path), "--as-of", AS_OF_ARG])
    assert_refused_run(result, out)
    assert f"{PREFIX}REQUESTS_PER_MINUTE" in result.err


def test_max_jobs_zero_is_refused(tmp_path: Path) -> None:
    """`--max-jobs 0` is refused like other non-positive ceilings instead of meaning the default."""
    path = tmp_path / "jobs.yaml"
    path.write_text(MONTH_DAILY)
    result = invoke(["validate", str(path), "--max-jobs", "0"])
    assert_clean(result, frozenset({2}))
    assert "--max-jobs" in result.err


def test_repeated_filter_sets_give_a_bounded_report(tmp_path: Path) -> None:
    """A 7 KB manifest repeating one filter set 1,000 times gets a report under 1 MB, not one line per pair (78 MB)."""
    path = tmp_path / "jobs.yaml"
    sets = ", ".join(["{a: 1}"] * 1000)
    path.write_text(
        _manifest("{start: 2024-01-01, end: 2024-01-02}", more=f"    filters: [{sets}]\n")
    )
    result = invoke(["validate", str(path), "--as-of", AS_OF_ARG])
    assert_clean(result, frozenset({2}))
    assert len(result.err) < 1_000_000


def test_many_distinct_filter_sets_are_checked_in_linear_time(tmp_path: Path) -> None:
    """30,000 distinct filter sets (330 KB) are checked within the time limit (quadratically it took about 20 s)."""
    path = tmp_path / "jobs.yaml"
    sets = ", ".join(f"{{a: {i}}}" for i in range(30_000))
    path.write_text(
        _manifest("{start: 2024-01-01, end: 2024-01-02}", more=f"    filters: [{sets}]\n")
    )
    assert_clean(invoke(["validate", str(path), "--as-of", AS_OF_ARG]), frozenset({0}))


def test_a_manifest_of_repeated_mistakes_gets_a_bounded_report(tmp_path: Path) -> None:
    """50,000 repeated columns (100 KB) get an error report under 1 MB, not one line per repeat."""
    path = tmp_path / "jobs.yaml"
    columns = ",".join(["c"] * 50_000)
    path.write_text(
        _manifest("{start: 2024-01-01, end: 2024-01-02}", more=f"    columns: [{columns}]\n")
    )
    result = invoke(["validate", str(path), "--as-of", AS_OF_ARG])
    assert_clean(result, frozenset({2}))
    assert len(result.err) < 1_000_000, f"{len(result.err):,} characters on stderr"
