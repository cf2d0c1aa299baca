"""What the command prints: stdout for results, stderr for messages and progress, always literal text."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

console = Console(stderr=True, soft_wrap=True)
out = Console()


def printable(text: object) -> str:
    """Text safe for the terminal: control characters (ANSI escapes, line breaks) shown as escapes."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


def cell(text: object) -> Text:
    """A table cell shown literally (file names may hold rich markup such as "[/red]")."""
    return Text(printable(text))


def say(message: object, style: str = "red") -> None:
    """Print a message on stderr literally: no markup, no highlighting, no raw control characters."""
    console.print(printable(message), style=style, markup=False, highlight=False)
