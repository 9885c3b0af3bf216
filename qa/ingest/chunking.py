"""Cut documents into chunks that keep their place in the file.

Paragraphs are runs of lines, ended by a blank line or by a line break after
sentence-final punctuation. Short lines without such punctuation ("- New
Startups", "# Intro") are headings: they are kept as context of the chunks
below them, never as chunks themselves. Sentences are split with rules that
know abbreviations and initials ("U.S.", "Dr.", "Co., Ltd."). A chunk is a run
of whole sentences of one paragraph, at most `max_chars` long, overlapping the
next by `overlap_sentences`.

A document read with its structure (HTML, Markdown, Word: `Document.blocks`)
is cut by `qa.ingest.block_chunking` instead: its headings, definition terms
and table columns are known, not guessed, and each chunk carries them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from qa.ingest.blocks import KIND_OF_LETTER
from qa.ingest.documents import Document
from qa.settings import ChunkSettings

Offsets = tuple[int, int]  # (start, end) character offsets into a document's text

ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "ft",
        "co",
        "vs",
        "cf",
        "al",
        "fig",
        "figs",
        "no",
        "nos",
        "vol",
        "pp",
        "ed",
        "eds",
        "rev",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "gov",
        "sen",
        "rep",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "approx",
        "dept",
        "univ",
        "est",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
    ]
)
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9À-Ý])|[。！？]+")
_INITIALS = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")
_FINAL_PUNCT = tuple(".!?…:;,\"'”’)]。！？")
_HEADING_MAX_CHARS = 100
_HEADING_MAX_WORDS = 14
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class Chunk:
    """A passage of one document with its exact place in it.

    `text == document.text[start:end]`; `sentences` are (start, end) offsets in
    the document; `heading` is the nearest heading above ('' if none);
    `paragraph` and `line` are 1-based; `title` is the document's title (from
    its file name) when the chunker adds titles as context.

    For a document read with its structure (`qa.ingest.block_chunking`):
    `kind` is what its text is (definition, row, code, item, paragraph,
    caption; '' for plain text); `path` the headings and outer terms above it;
    `context` a definition's term or a table row's header row, found at
    `context_start` in the document (-1 when none). All are context for
    embedding and BM25; an answer may be taken from `context` as well.
    `sentence_kinds` has one letter per sentence, the kind of block it is in
    (`qa.ingest.blocks.LETTERS`: "c" code, "r" a table row, ...).
    """

    id: int
    source: str
    start: int
    end: int
    text: str
    heading: str
    paragraph: int
    line: int
    sentences: tuple[Offsets, ...]
    title: str = ""
    kind: str = ""
    path: str = ""
    context: str = ""
    context_start: int = -1
    sentence_kinds: str = ""

    def sentence_kind(self, i: int) -> str:
        """The kind of block sentence `i` is in ('' for plain text)."""
        return KIND_OF_LETTER.get(self.sentence_kinds[i : i + 1], "")

    def embedding_text(self) -> str:
        """What BM25 indexes: title, headings (the path) and context, then the text."""
        context = self.context if self.context and not self.start <= self.context_start < self.end else ""
        return "\n".join(part for part in (self.title, self.path or self.heading, context, self.text) if part)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "heading": self.heading,
            "paragraph": self.paragraph,
            "line": self.line,
            "sentences": [list(s) for s in self.sentences],
            "title": self.title,
            "kind": self.kind,
            "path": self.path,
            "context": self.context,
            "context_start": self.context_start,
            "sentence_kinds": self.sentence_kinds,
        }

    @classmethod
    def from_dict(cls, d: dict, text: str) -> Chunk:
        return cls(
            id=d["id"],
            source=d["source"],
            start=d["start"],
            end=d["end"],
            text=text,
            heading=d["heading"],
            paragraph=d["paragraph"],
            line=d["line"],
            sentences=tuple((s[0], s[1]) for s in d["sentences"]),
            title=d.get("title", ""),
            kind=d.get("kind", ""),
            path=d.get("path", ""),
            context=d.get("context", ""),
            context_start=d.get("context_start", -1),
            sentence_kinds=d.get("sentence_kinds", ""),
        )


def _strip(text: str, start: int, end: int) -> Offsets:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Offsets]:
    """Sentence spans of text[start:end], as offsets into `text`, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[Offsets] = []
    begin = start
    for m in _SENTENCE_END.finditer(text, start, end):
        if text[m.start()] == ".":
            word = text[begin : m.start()].rsplit(maxsplit=1)[-1:] or [""]
            token = word[0].lstrip("\"'“‘([").lower()
            if token in ABBREVIATIONS or _INITIALS.fullmatch(token):
                continue
        span = _strip(text, begin, m.end())
        if span[0] < span[1]:
            spans.append(span)
        begin = m.end()
    span = _strip(text, begin, end)
    if span[0] < span[1]:
        spans.append(span)
    return spans


def _lines(text: str) -> list[tuple[int, int, int]]:
    """(line number, start, end) of each '\n'-separated line, end excluding '\r\n'."""
    out, pos = [], 0
    for number, raw in enumerate(text.split("\n"), start=1):
        out.append((number, pos, pos + len(raw.rstrip("\r"))))
        pos += len(raw) + 1
    return out


def is_heading(line: str) -> bool:
    s = line.strip().lstrip("\ufeff").strip()
    if s.startswith("#"):
        return True
    return (
        0 < len(s) <= _HEADING_MAX_CHARS
        and not s.endswith(_FINAL_PUNCT)
        and len(s.split()) <= _HEADING_MAX_WORDS
        and any(c.isalpha() for c in s)
    )


def heading_text(line: str) -> str:
    return line.strip().lstrip("\ufeff").strip().lstrip("#").strip().lstrip("-*• ").strip()


@dataclass(frozen=True)
class Paragraph:
    start: int
    end: int
    number: int
    line: int
    heading: str


_ENDS_SENTENCE = (".", "!", "?", "…", ":", "”", '"', "。", "！", "？")


def _blocks(text: str) -> list[list[tuple[int, int, int]]]:
    """Runs of non-blank lines."""
    blocks: list[list[tuple[int, int, int]]] = [[]]
    for line in _lines(text):
        if text[line[1] : line[2]].strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _hard_wrapped(text: str, block: list[tuple[int, int, int]]) -> bool:
    """A block of long lines that mostly stop mid-sentence: text wrapped at a fixed width."""
    lines = [text[s:e].strip() for _, s, e in block if not text[s:e].lstrip().startswith("#")]
    if len(lines) < 3:
        return False
    long_open = sum(1 for line in lines[:-1] if len(line) >= 40 and not line.endswith(_ENDS_SENTENCE))
    return long_open >= 3 and long_open * 4 >= 3 * (len(lines) - 1)


@dataclass(frozen=True)
class _Item:
    """A heading line, or the lines of a paragraph, as the first pass finds them; `level` is 0 for a short line."""

    lines: tuple[tuple[int, int, int], ...]
    block: int
    heading: bool = False
    level: int = 0  # a Markdown heading's number of '#'


def _items(text: str) -> list[_Item]:
    """Headings and paragraphs in order. A heading here may still turn out to be text (see `paragraphs`)."""
    items: list[_Item] = []
    current: list[tuple[int, int, int]] = []
    block_no = 0

    def close() -> None:
        if current:
            items.append(_Item(tuple(current), block_no))
            current.clear()

    for block_no, block in enumerate(_blocks(text)):
        wrapped = _hard_wrapped(text, block)
        for i, (number, s, e) in enumerate(block):
            line = text[s:e]
            after = text[block[i + 1][1] : block[i + 1][2]].lstrip() if i + 1 < len(block) else ""
            continues = bool(current) and not text[current[-1][1] : current[-1][2]].rstrip().endswith(_ENDS_SENTENCE)
            marked = line.lstrip().lstrip("\ufeff")
            if marked.startswith("#") or (
                not wrapped and is_heading(line) and not continues and not after[:1].islower()
            ):
                close()
                level = len(marked) - len(marked.lstrip("#"))
                items.append(_Item(((number, s, e),), block_no, heading=True, level=level))
                continue
            current.append((number, s, e))
            if not wrapped and line.rstrip().endswith(_ENDS_SENTENCE):
                close()
        close()
    return items


def _headings_over_nothing(items: list[_Item]) -> set[int]:
    """Indexes of the headings with nothing under them, found from the end in one pass.

    A short line has nothing under it when a heading or the end comes next. A
    Markdown heading has nothing under it when the next Markdown heading of its
    level or above (fewer '#'), or the end, comes before any text or short line.
    """
    empty: set[int] = set()
    content = None  # index of the nearest paragraph or short line below
    marked: list[tuple[int, int]] = []  # (level, index) of Markdown headings below, nearest last, levels rising
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if not item.heading:
            content = i
            continue
        if item.level == 0:
            if i + 1 == len(items) or items[i + 1].heading:
                empty.add(i)
            content = i
            continue
        while marked and marked[-1][0] > item.level:
            marked.pop()
        end = marked[-1][1] if marked else len(items)
        if content is None or content > end:
            empty.add(i)
        marked.append((item.level, i))
    return empty


def paragraphs(text: str) -> list[Paragraph]:
    """The paragraphs of a document with the heading above each.

    A blank line ends a paragraph; so does a line break after sentence-final
    punctuation, unless the block is hard-wrapped text. A heading is a short line
    without final punctuation (or a Markdown '#' line) that neither continues the
    line above nor runs on into a lowercase line below, and that has something
    under it: a heading with nothing under it (a one-line note, a title alone,
    a list without punctuation) is text, its lines in a block one paragraph.
    """
    items = _items(text)
    empty = _headings_over_nothing(items)
    out: list[Paragraph] = []
    heading = ""
    run: list[tuple[int, int, int]] = []  # lines of headings over nothing, in one block, read as text
    run_block = -1

    def add(lines, first: int | None = None) -> None:
        s, e = _strip(text, lines[0][1] if first is None else first, lines[-1][2])
        if s < e:
            out.append(Paragraph(s, e, len(out) + 1, lines[0][0], heading))

    def flush() -> None:
        if run:
            _, s, e = run[0]
            marker = re.match(r"[\s\ufeff]*#+", text[s:e])  # a Markdown title's text starts after its '#'
            add(run, s + marker.end() if marker else s)
            run.clear()

    for i, item in enumerate(items):
        if not item.heading:
            flush()
            add(item.lines)
        elif i not in empty:
            flush()
            heading = heading_text(text[item.lines[0][1] : item.lines[0][2]])
        elif _LETTER_OR_DIGIT.search(heading_text(text[item.lines[0][1] : item.lines[0][2]])):
            if run and run_block != item.block:
                flush()
            run.append(item.lines[0])
            run_block = item.block
    flush()
    return out


def _windows(sentences: list[Offsets], settings: ChunkSettings) -> Iterator[list[Offsets]]:
    i = 0
    while i < len(sentences):
        j = i + 1
        while j < len(sentences) and sentences[j][1] - sentences[i][0] <= settings.max_chars:
            j += 1
        yield sentences[i:j]
        if j >= len(sentences):
            return
        i = max(i + 1, j - settings.overlap_sentences)


def document_title(path: str) -> str:
    """A readable title from a file name: '03_Super_Bowl_50.txt' -> 'Super Bowl 50'."""
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return re.sub(r"[_-]+", " ", re.sub(r"^\d{1,3}[_\s.-]+(?=\D)", "", stem)).strip()


def chunk_document(doc: Document, settings: ChunkSettings, first_id: int = 0) -> list[Chunk]:
    title = document_title(doc.path) if settings.titles else ""
    if doc.blocks:
        from qa.ingest.block_chunking import chunk_blocks

        return chunk_blocks(doc, settings, title, first_id)
    chunks: list[Chunk] = []
    for para in paragraphs(doc.text):
        sentences = split_sentences(doc.text, para.start, para.end)
        for window in _windows(sentences, settings):
            start, end = window[0][0], window[-1][1]
            chunks.append(
                Chunk(
                    id=first_id + len(chunks),
                    source=doc.path,
                    start=start,
                    end=end,
                    text=doc.text[start:end],
                    heading=para.heading,
                    paragraph=para.number,
                    line=para.line + doc.text.count("\n", para.start, start),
                    sentences=tuple(window),
                    title=title,
                )
            )
    return chunks


def embedded_sentences(chunk: Chunk, text: str) -> list[str]:
    """What each sentence of a chunk is embedded as (`text` is its document's text): the sentence itself, or,
    for a document read with its structure, the sentence after its context (`qa.ingest.block_chunking`)."""
    if chunk.sentence_kinds:
        from qa.ingest.block_chunking import chunk_inputs

        return chunk_inputs(chunk, text)
    return [text[s:e] for s, e in chunk.sentences]


def sentence_inputs(doc: Document, chunks: list[Chunk]) -> list[str]:
    """What each sentence of a document's chunks is embedded as, in order (`embedded_sentences`)."""
    return [t for c in chunks for t in embedded_sentences(c, doc.text)]


def chunk_documents(docs: list[Document], settings: ChunkSettings) -> list[Chunk]:
    chunks: list[Chunk] = []
    for doc in docs:
        chunks.extend(chunk_document(doc, settings, first_id=len(chunks)))
    return chunks
