"""The rules YAML of a team: its schema, loading, and errors located at file:line:col."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from peacewatch.errors import InputError, QuerySyntaxError
from peacewatch.models import Destination, Severity
from peacewatch.rules.entities import Entity, EntityKind
from peacewatch.rules.query import QueryWarning
from peacewatch.rules.rulemeta import Digest as Digest
from peacewatch.rules.rulemeta import Located as Located
from peacewatch.rules.rulemeta import RuleMeta as RuleMeta
from peacewatch.rules.yamlload import compose_load

if TYPE_CHECKING:
    import yaml

RULE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class EntitySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: EntityKind
    names: list[str] = Field(min_length=1)
    description: str = ""

    @field_validator("names")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        cleaned = [n.strip() for n in names]
        if any(not n for n in cleaned):
            raise ValueError("a name must not be empty")
        return cleaned

    def to_entity(self) -> Entity:
        return Entity(self.id, self.kind, tuple(self.names), self.description)


class RuleSpec(BaseModel):
    """One watch rule as a team writes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=RULE_ID_PATTERN)
    query: str = Field(min_length=1, max_length=2000)
    channels: list[str] = Field(default_factory=list)
    min_sources: int = Field(default=1, ge=1, le=100)
    digest: Digest = "none"
    severity: Severity | None = None

    @field_validator("channels")
    @classmethod
    def _channels(cls, channels: list[str]) -> list[str]:
        for channel in channels:
            Destination.parse(channel)  # raises ValueError with the reason
        return channels

    def destinations(self) -> tuple[Destination, ...]:
        return tuple(Destination.parse(c) for c in self.channels)


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entities: list[EntitySpec] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(default_factory=list)

    def team_entities(self) -> tuple[Entity, ...]:
        return tuple(e.to_entity() for e in self.entities)


def node_at(
    root: yaml.Node | None, loc: tuple[int | str, ...], key_node: bool = False
) -> yaml.Node | None:
    """The YAML node at ``loc`` (the key's node rather than its value's with ``key_node``)."""
    import yaml

    node = root
    for index, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            found = None
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    found = key if key_node and index == len(loc) - 1 else value
                    break
            if found is None:
                return node
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def where(node: yaml.Node | None) -> tuple[int, int]:
    if node is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1


def query_position(
    node: yaml.Node | None, error: QuerySyntaxError | QueryWarning, text: str = ""
) -> tuple[int, int]:
    """The file position of a query error or warning: the query scalar's position plus its
    column. ``text`` is the file's text (marks of the libyaml parser hold none)."""
    import yaml

    line, column = where(node)
    if not isinstance(node, yaml.ScalarNode):
        return line, column
    source = node.start_mark.buffer or text
    raw = source[node.start_mark.index : node.end_mark.index]
    if node.style in ("|", ">"):
        # the query starts on the line after the indicator, at the block's indentation; each
        # line of the block is one line of the value (or, folded, joined by one space)
        lines = raw.split("\n")[1:]
        first = next((text for text in lines if text.strip()), "")
        indent = len(first) - len(first.lstrip(" "))
        offset = error.column - 1
        for number, text in enumerate(lines):
            content = text[indent:]
            if offset <= len(content):
                return line + 1 + number, indent + 1 + offset
            offset -= len(content) + 1
        return line + 1 + lines.index(first), indent + 1
    if node.start_mark.line != node.end_mark.line:
        return line, column
    if node.style not in ("'", '"'):
        return line, column + error.column - 1
    return line, column + 1 + _raw_offset(raw[1:-1], node.style, error.column - 1)


def _raw_offset(raw: str, style: str, wanted: int) -> int:
    """Where the ``wanted``-th character of a quoted scalar's value stands in its source text
    (``''`` in single quotes and backslash escapes in double quotes are one character each)."""
    position = index = 0
    while position < len(raw) and index < wanted:
        if style == "'" and raw.startswith("''", position):
            position += 2
        elif style == '"' and raw[position] == "\\":
            code = raw[position + 1 : position + 2]
            position += {"x": 4, "u": 6, "U": 10}.get(code, 2)
        else:
            position += 1
        index += 1
    return position


QueryCheck = Callable[[RuleSpec, RulesFile], Sequence[QueryWarning] | None]


def load_rules(
    path: Path, check_query: QueryCheck | None = None, warnings: list[Located] | None = None
) -> tuple[RulesFile, list[Located]]:
    """Load a rules file. Returns what is valid plus every error found, each at file:line:col.

    A rule with an error is left out; the others are kept (one broken rule never stops the rest).
    ``check_query`` compiles a rule's query and raises QuerySyntaxError or InputError; the
    warnings it returns (a rule that loads but probably says something else than meant) are
    added to ``warnings``, located like errors.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return RulesFile(), [Located(name, 1, 1, f"cannot read: {exc}")]
    return parse_rules(text, name, check_query, warnings)


def parse_rules(
    text: str,
    name: str = "<rules>",
    check_query: QueryCheck | None = None,
    warnings: list[Located] | None = None,
) -> tuple[RulesFile, list[Located]]:
    """Like ``load_rules`` for YAML text already in memory."""
    # PyYAML only when a text is parsed: a command that reads its rules from the disk cache
    # never needs it
    import yaml

    from peacewatch.yamlerrors import yaml_error_at

    errors: list[Located] = []
    try:
        root, data = compose_load(text)
    except yaml.YAMLError as exc:
        return RulesFile(), [Located(name, *yaml_error_at(exc, text))]
    if data is None:
        return RulesFile(), []
    if not isinstance(data, dict):
        return RulesFile(), [
            Located(name, 1, 1, "expected a mapping with 'rules' (and 'entities')")
        ]
    for key in data:
        if key not in ("rules", "entities"):
            line, col = where(node_at(root, (key,)))
            errors.append(
                Located(name, line, col, f"unknown key {key!r}: expected rules, entities")
            )

    entities: list[EntitySpec] = []
    for index, item in enumerate(data.get("entities") or []):
        try:
            entities.append(EntitySpec.model_validate(item))
        except ValidationError as exc:
            errors.extend(_validation(exc, root, ("entities", index), name))
    rules_file = RulesFile(entities=entities)

    seen: set[str] = set()
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        line, col = where(node_at(root, ("rules",)))
        return rules_file, [*errors, Located(name, line, col, "'rules' must be a list")]
    for index, item in enumerate(raw_rules):
        try:
            rule = RuleSpec.model_validate(item)
        except ValidationError as exc:
            errors.extend(_validation(exc, root, ("rules", index), name))
            continue
        if rule.id in seen:
            line, col = where(node_at(root, ("rules", index, "id")))
            errors.append(Located(name, line, col, f"duplicate rule id {rule.id!r}"))
            continue
        if check_query is not None:
            try:
                found = check_query(rule, rules_file)
            except QuerySyntaxError as exc:
                node = node_at(root, ("rules", index, "query"))
                line, col = query_position(node, exc, text)
                errors.append(Located(name, line, col, f"rule {rule.id!r}: {exc.message}"))
                continue
            except InputError as exc:
                line, col = where(node_at(root, ("rules", index, "query")))
                errors.append(Located(name, line, col, f"rule {rule.id!r}: {exc}"))
                continue
            for warning in found or ():
                if warnings is not None:
                    node = node_at(root, ("rules", index, "query"))
                    line, col = query_position(node, warning, text)
                    message = f"rule {rule.id!r}: {warning.message}"
                    warnings.append(Located(name, line, col, message, warning=True))
        seen.add(rule.id)
        rules_file.rules.append(rule)
    return rules_file, errors


def _validation(
    exc: ValidationError, root: yaml.Node | None, base: tuple[int | str, ...], name: str
) -> list[Located]:
    out = []
    for err in exc.errors():
        loc = (*base, *err["loc"])
        line, col = where(node_at(root, loc, key_node=err["type"] == "extra_forbidden"))
        field = ".".join(str(p) for p in err["loc"]) or "entry"
        out.append(Located(name, line, col, f"{base[0]}[{base[1]}].{field}: {err['msg']}"))
    return out


def dump_rules(rules_file: RulesFile) -> str:
    """The YAML text of a rules file (round-trips through ``parse_rules``)."""
    data: dict[str, Any] = {}
    if rules_file.entities:
        data["entities"] = [e.model_dump(exclude_defaults=True) for e in rules_file.entities]
    data["rules"] = [r.model_dump(mode="json", exclude_none=True) for r in rules_file.rules]
    import yaml

    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
