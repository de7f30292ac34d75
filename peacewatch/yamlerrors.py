"""Where a YAML syntax error really is: the line and column of its cause, and what to do."""

from __future__ import annotations

import yaml

_OPENERS = {
    "while scanning a quoted scalar": "a quote opened here is never closed",
    "while parsing a flow sequence": "a '[' opened here is never closed",
    "while parsing a flow mapping": "a '{' opened here is never closed",
}


def yaml_error_at(exc: yaml.YAMLError, text: str = "") -> tuple[int, int, str]:
    """``(line, column, message)`` of a PyYAML error in ``text``, both 1-based.

    PyYAML marks where it gave up, which for an unclosed quote or bracket is the end of the
    file; the cause is where the quote or bracket opened (its ``context_mark``), so that is
    the place reported, with where the parser gave up in the message. An unclosed quote that a
    later quote on another line closes by accident (``query: 'a`` then ``channels: ['x']``)
    shows as a quoted text running over lines just before the error: reported where it opens."""
    problem = str(getattr(exc, "problem", None) or exc)
    mark = getattr(exc, "problem_mark", None)
    runaway = _runaway_quote(text, mark.line, mark.index) if text and mark is not None else None
    if runaway is not None:
        line, column, closed = runaway
        return (
            line,
            column,
            f"invalid YAML: a quote opened here is never closed on its line (the quoted text"
            f" runs on to line {closed}, where the parser {problem})",
        )
    context = str(getattr(exc, "context", None) or "")
    opened = getattr(exc, "context_mark", None)
    if context in _OPENERS and opened is not None:
        ended = f" (the parser {problem} at line {mark.line + 1})" if mark is not None else ""
        return opened.line + 1, opened.column + 1, f"invalid YAML: {_OPENERS[context]}{ended}"
    if mark is None:
        return 1, 1, f"invalid YAML: {problem}"
    return mark.line + 1, mark.column + 1, f"invalid YAML: {problem}"


def _runaway_quote(text: str, error_line: int, error_at: int) -> tuple[int, int, int] | None:
    """``(line, column, end line)`` of the last scalar before the error (at character
    ``error_at``, on 0-based ``error_line``) if it is quoted, spans lines and ends on the
    error's line; else None."""
    last: yaml.Token | None = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.end_mark.index > error_at:
                break
            last = token if isinstance(token, yaml.ScalarToken) else last
    except yaml.YAMLError:
        pass
    if not isinstance(last, yaml.ScalarToken) or last.style not in ("'", '"'):
        return None
    start, end = last.start_mark, last.end_mark
    if start.line == end.line or end.line != error_line:
        return None
    return start.line + 1, start.column + 1, end.line + 1
