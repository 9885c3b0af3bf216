"""The blocks of a structured document: each piece of its text with the kind of thing it is.

A reader that understands a format's structure (HTML, Markdown, Word) writes
the document's text block by block through a `TextBuilder` and gets back the
text and a `Block` for each piece: a heading (with its level), a definition
term, a definition, a table's header row, a table row, a caption, code, a list
item or a paragraph. A block knows the headings (and, inside nested definition
lists, the terms) it sits under (`path`), and a definition its term, a table
row its header row (`of`). The chunker reads these instead of guessing headings
from short lines.

Every block's `start`/`end` are offsets into the text the builder returns, and
that text is what quotes are verified against: nothing is kept outside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADING, TERM, DEFINITION, HEADER, ROW, CAPTION, CODE, ITEM, PARAGRAPH = (
    "heading",
    "term",
    "definition",
    "header",
    "table_row",
    "caption",
    "code",
    "list_item",
    "paragraph",
)  # the names ui/blocks.py renders passages by
KINDS = (HEADING, TERM, DEFINITION, HEADER, ROW, CAPTION, CODE, ITEM, PARAGRAPH)
LETTERS = {HEADING: "h", TERM: "t", DEFINITION: "d", HEADER: "H", ROW: "r", CAPTION: "a", CODE: "c", ITEM: "i",
           PARAGRAPH: "p"}  # fmt: skip
KIND_OF_LETTER = {letter: kind for kind, letter in LETTERS.items()}
CONTEXT_KINDS = frozenset([HEADING, TERM, HEADER])  # context of the blocks below them, never answer text alone
CELL_SEPARATOR = " | "  # between the cells of a table row in the stored text
LABEL_LEVEL = 7  # a bold-only line or a tab's label: a heading below h6, replaced by the next one
PERMALINK = "¶"
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")


@dataclass(frozen=True)
class Block:
    """One piece of a document's text: `text[start:end]` is a `kind` (see KINDS).

    `level` is a heading's level (1-6 for h1-h6, LABEL_LEVEL for a label);
    `path` the indices of the heading and term blocks it sits under, outermost
    first; `of` the index of the term block a definition explains, or of the
    header row of a table row (-1 when none).
    """

    kind: str
    start: int
    end: int
    level: int = 0
    path: tuple[int, ...] = ()
    of: int = -1


def collapse(text: str) -> str:
    """Whitespace runs (non-breaking and zero-width spaces included) as one space; ends trimmed."""
    return _SPACES.sub(" ", text).strip()


def clean_code(text: str) -> str:
    """A code block's text: tabs as 4 spaces, trailing spaces and blank first/last lines off."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


class TextBuilder:
    """Writes a document's text one block at a time and keeps each block's place, kind and context.

    Headings are kept on a stack by level: a new heading closes every heading of
    its level or deeper. `enter_term`/`leave_term` keep the terms of nested
    definition lists (a class's methods sit under the class). Blocks are
    separated by a blank line, rows of one table and items of one list by a
    line break.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.blocks: list[Block] = []
        self.headings: list[int] = []  # block indices, outermost first
        self.terms: list[int] = []  # enclosing definition terms
        self._tight = False  # the next block follows on the next line (rows, items, terms and definitions)

    def _path(self) -> tuple[int, ...]:
        return tuple(self.headings) + tuple(self.terms)

    def add(self, kind: str, text: str, level: int = 0, of: int = -1, tight: bool = False) -> int:
        """Append a block; returns its index, or -1 when it has no text."""
        if not text.strip():
            return -1
        if kind == HEADING:
            while self.headings and self.blocks[self.headings[-1]].level >= level:
                self.headings.pop()
            self.terms.clear()
        if self.parts:
            sep = "\n" if (tight and self._tight) else "\n\n"
            self.parts.append(sep)
            self.length += len(sep)
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        path = self._path()
        self.blocks.append(Block(kind, start, self.length, level, path, of))
        self._tight = tight
        index = len(self.blocks) - 1
        if kind == HEADING:
            self.headings.append(index)
        return index

    def extend_term(self, index: int, text: str) -> None:
        """Add a second term line to the term block `index` (`-a` then `--all`): one block, two lines."""
        block = self.blocks[index]
        if index != len(self.blocks) - 1 or not text.strip():
            return
        self.parts.append("\n" + text)
        self.length += 1 + len(text)
        self.blocks[index] = Block(block.kind, block.start, self.length, block.level, block.path, block.of)

    def enter_term(self, index: int) -> None:
        if index >= 0:
            self.terms.append(index)

    def leave_term(self) -> None:
        if self.terms:
            self.terms.pop()

    def loosen(self) -> None:
        """The next block starts after a blank line (a list or a table ended)."""
        self._tight = False

    def result(self) -> tuple[str, tuple[Block, ...]]:
        return "".join(self.parts), tuple(self.blocks)
