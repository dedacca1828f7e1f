"""A small reader of our Dockerfile: its instructions by stage, continuation lines joined, comments
dropped. Enough for the tests to check what the image runs; hadolint checks the rest."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form ENTRYPOINT or CMD; ValueError for the shell form."""
        value = json.loads(self.arguments)
        if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
            raise ValueError(f"line {self.line}: {self.keyword} is not in exec form")
        return value


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        """The stage's ENV settings (KEY=VALUE form)."""
        settings: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for key, value in re.findall(r"(\w+)=(\S+)", instruction.arguments):
                settings[key] = value
        return settings


@dataclass
class Dockerfile:
    args: dict[str, str]
    stages: dict[str, Stage]

    def stage(self, name: str) -> Stage:
        return self.stages[name]


def instructions(text: str) -> list[Instruction]:
    """Every instruction with its first line number, continuations joined, comments skipped."""
    found: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), " ".join(arguments.split()), start))
        pending = ""
    return found


def parse(path: Path = DOCKERFILE) -> Dockerfile:
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for instruction in instructions(path.read_text()):
        if instruction.keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?: AS (\S+))?", instruction.arguments, re.IGNORECASE)
            assert match, f"line {instruction.line}: FROM {instruction.arguments}"
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], match.group(1))
            current = Stage(match.group(2) or str(len(stages)), base)
            stages[current.name] = current
        elif current is None and instruction.keyword == "ARG":
            name, _, default = instruction.arguments.partition("=")
            args[name] = default
        else:
            assert current is not None, (
                f"line {instruction.line}: {instruction.keyword} before FROM"
            )
            current.instructions.append(instruction)
    return Dockerfile(args, stages)
