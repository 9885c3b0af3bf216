"""Cut a document read with its structure (`Document.blocks`) into chunks that carry their context.

A chunk never mixes two sections, two definitions or two tables: it is a run
of whole sentences of consecutive blocks under the same headings and the same
term or table, at most `max_chars` long. Headings and table header rows are
context, never chunk text; a definition term is the first sentence of its
definition's chunk (a call signature can hold the answer: `chunk_size=512`).

Each chunk carries:
- `path`: the headings (and outer definition terms) above it, outermost first;
- `context`: for a definition, its term (the nearest one that names something,
  not a field name such as "Parameters"); for a table row, the header row with
  the column names; `context_start` is where that text is in the document, so
  an answer taken from it is still an exact slice of the document;
- `kind`: what its text is (definition, row, code, item, paragraph, caption).

`sentence_inputs` gives what each sentence is embedded as: the sentence after
its context (a row's cells paired with their column names, a definition's
sentence after its term, code after its heading and the sentence introducing it).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from qa.ingest.blocks import (
    CELL_SEPARATOR,
    CODE,
    DEFINITION,
    HEADER,
    HEADING,
    ITEM,
    LETTERS,
    PARAGRAPH,
    ROW,
    TERM,
    Block,
)
from qa.settings import ChunkSettings

PATH_SEPARATOR = " › "
CODE_PIECE_CHARS = 500  # a longer code block is cut at line breaks into pieces about this long
WHOLE_CHARS = 250  # a list item or definition this short is one sentence ("Defaults to True." says of what)
PATH_PART_CHARS = 120  # each heading or term in a path, at most this long
_FIELD = re.compile(r"^[A-Z][a-z]+(?: [a-z]+){0,2}:?$")  # "Parameters", "Return type": a field, not a name


def _first_line(text: str, limit: int = PATH_PART_CHARS) -> str:
    line = text.split("\n", 1)[0].strip()
    return line if len(line) <= limit else line[:limit].rstrip() + "…"


def _outer_term(blocks: tuple[Block, ...], t: int) -> int:
    """The term a term sits under: the one it belongs to, else the last term on its path; -1 when none."""
    if blocks[t].of >= 0 and blocks[blocks[t].of].kind == TERM:
        return blocks[t].of
    terms = [p for p in blocks[t].path if blocks[p].kind == TERM]
    return terms[-1] if terms else -1


def naming_term(text: str, blocks: tuple[Block, ...], t: int) -> int:
    """The nearest term from `t` outwards that names something (not a field such as "Parameters")."""
    seen = 0
    while t >= 0 and _FIELD.match(text[blocks[t].start : blocks[t].end].strip()) and seen < 16:
        outer = _outer_term(blocks, t)
        if outer < 0:
            break
        t, seen = outer, seen + 1
    return t


def _owner(text: str, blocks: tuple[Block, ...], i: int) -> tuple[str, int]:
    """What a block belongs to: ("term", the term naming its definition), ("row", its header row) or ("", -1).

    Everything under a term, its fields ("Parameters") and their items included, belongs to that term.
    """
    b = blocks[i]
    if b.kind == TERM:
        return TERM, naming_term(text, blocks, i)
    if b.kind == ROW:
        return ROW, b.of
    if b.of >= 0 and blocks[b.of].kind == TERM:
        return TERM, naming_term(text, blocks, b.of)
    return "", -1


def _code_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A code block as one sentence, or cut at line breaks into pieces of about CODE_PIECE_CHARS."""
    if end - start <= CODE_PIECE_CHARS:
        return [(start, end)]
    pieces, a, pos = [], start, start
    while pos < end:
        nl = text.find("\n", pos, end)
        line_end = end if nl < 0 else nl
        if line_end - a > CODE_PIECE_CHARS and pos > a:
            pieces.append((a, pos - 1))
            a = pos
        pos = line_end + 1
    pieces.append((a, end))
    return [(s, e) for s, e in pieces if text[s:e].strip()]


def _sentences(text: str, block: Block, split) -> list[tuple[int, int]]:
    """A block's sentences: a row, a term, a short item or definition whole; code in pieces; else split."""
    if block.kind in (ROW, TERM) or (block.kind in (ITEM, DEFINITION) and block.end - block.start <= WHOLE_CHARS):
        return [(block.start, block.end)]
    if block.kind == CODE:
        return _code_pieces(text, block.start, block.end)
    return split(text, block.start, block.end)


def chunk_blocks(doc, settings: ChunkSettings, title: str, first_id: int = 0) -> list:
    """The chunks of a document read with its structure (see the module's docstring)."""
    from qa.ingest.chunking import Chunk, _windows, split_sentences

    text, blocks = doc.text, doc.blocks
    newlines = [m.start() for m in re.finditer("\n", text)]
    runs: list[tuple[tuple, list[tuple[int, int, int]]]] = []  # (key, [(start, end, block)])
    ordinal: dict[int, int] = {}
    above = {p for b in blocks if b.kind not in (HEADING, HEADER) for p in b.path}
    for i in range(len(blocks) - 1, -1, -1):  # a heading read as text is something under its own headings
        if blocks[i].kind == HEADING and i not in above:
            above.update(blocks[i].path)
    for i, b in enumerate(blocks):
        if b.kind == HEADER or (b.kind == HEADING and i in above):
            continue  # a heading with nothing under it (a one-line note, a last label) is text
        ordinal[i] = len(ordinal) + 1
        owner = _owner(text, blocks, i)
        if b.kind == TERM and owner[1] != i:
            continue  # a field's name ("Parameters"): part of its definition's text, not a sentence
        key = (b.path if owner[0] != TERM else blocks[owner[1]].path, owner)
        spans = [(s, e, i) for s, e in _sentences(text, b, split_sentences)]
        if not spans:
            continue
        if runs and runs[-1][0] == key:
            runs[-1][1].extend(spans)
        else:
            runs.append((key, spans))
    chunks: list[Chunk] = []
    for (path, (owner_kind, owner)), spans in runs:
        if owner_kind == TERM:
            path = (*path, owner)
        headings = [p for p in path if blocks[p].kind == HEADING]
        heading = _first_line(text[blocks[headings[-1]].start : blocks[headings[-1]].end]) if headings else ""
        path_text = PATH_SEPARATOR.join(_first_line(text[blocks[p].start : blocks[p].end]) for p in path)
        context, context_start = "", -1
        if owner_kind == TERM or (owner_kind == ROW and owner >= 0):
            context, context_start = text[blocks[owner].start : blocks[owner].end], blocks[owner].start
        where = {(s, e): i for s, e, i in spans}
        for window in _windows([(s, e) for s, e, _ in spans], settings):
            start, end = window[0][0], window[-1][1]
            first_block = blocks[where[window[0]]]
            letters = "".join(LETTERS[blocks[where[span]].kind] for span in window)
            kind = DEFINITION if owner_kind == TERM else PARAGRAPH if first_block.kind == HEADING else first_block.kind
            chunks.append(
                Chunk(
                    id=first_id + len(chunks),
                    source=doc.path,
                    start=start,
                    end=end,
                    text=text[start:end],
                    heading=heading,
                    paragraph=ordinal[where[window[0]]],
                    line=1 + bisect_right(newlines, start - 1),
                    sentences=tuple(window),
                    title=title,
                    kind=kind,
                    path=path_text,
                    context=context,
                    context_start=context_start,
                    sentence_kinds=letters,
                )
            )
    return chunks


def _pairs(header: str, row: str) -> str:
    names, cells = header.split(CELL_SEPARATOR), row.split(CELL_SEPARATOR)
    if len(names) != len(cells):
        return f"{header}: {row}"
    return "; ".join(f"{n}: {c}" if n.strip() else c for n, c in zip(names, cells, strict=True) if c.strip())


def chunk_inputs(chunk, text: str) -> list[str]:
    """What each sentence of a chunk read with its structure is embedded as (`text` is its document's text):
    a table row's cells paired with their column names (after its heading); a definition's sentence after
    its term and what holds the term (a heading, a class); code after its heading and the sentence before
    it; any other sentence after its heading."""
    out: list[str] = []
    previous = ""
    for i, (s, e) in enumerate(chunk.sentences):
        sentence = text[s:e]
        kind = chunk.sentence_kind(i)
        if kind == ROW and chunk.context:
            lead = f"{chunk.heading}: " if chunk.heading else ""
            out.append(lead + _pairs(chunk.context, sentence))
        elif chunk.context and chunk.context_start != s:  # a definition: after its term and what holds it
            out.append(f"{PATH_SEPARATOR.join(chunk.path.split(PATH_SEPARATOR)[-2:])}: {sentence}")
        elif kind == CODE:
            intro = " ".join(p for p in (chunk.heading, previous) if p)
            out.append(f"{intro}: {sentence}" if intro else sentence)
        else:
            out.append(f"{chunk.heading}: {sentence}" if chunk.heading else sentence)
        previous = sentence if kind != CODE else previous
    return out
