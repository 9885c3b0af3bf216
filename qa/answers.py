"""What a question gets back: an `Answer` holding ranked `Quote`s.

Every `Quote.text` is the exact slice `[start:end]` of its source document's
text, and `Answer.text`, when found, is the exact slice `[start:end]` of the
document named by `Answer.source`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Quote:
    """A passage of a document that supports (or, when nothing was found, is nearest to) the answer.

    `source` is the document's path relative to the corpus folder; `start`/`end`
    are character offsets into its text. `highlight` is the (start, end) of the
    answer extract inside the document when this quote holds it, else None.
    """

    text: str
    source: str
    start: int
    end: int
    score: float
    paragraph: int
    line: int
    heading: str = ""
    highlight: tuple[int, int] | None = None
    page: int | None = None  # 1-based PDF page where the quote starts; None for other formats
    kind: str = ""  # its chunk's kind (qa.ingest.blocks: definition, table_row, code, ...), '' for plain text

    def citation(self) -> str:
        where = f"page {self.page}, " if self.page is not None else ""
        place = f"paragraph {self.paragraph} (line {self.line}), characters {self.start}-{self.end}"
        return f"{self.source}, {where}{place}"


@dataclass(frozen=True)
class Answer:
    """The answer to one question.

    `found` says whether the documents answer it; then `text` is the shortest
    extract that does (≤ 300 characters) and `source`/`start`/`end` locate it.
    When not found, `text` is '' and `quotes` are the nearest passages.
    `confidence` is in [0, 1]; `found` is `confidence >= threshold`.
    `query` is the question as it was read: as asked, made whole from its conversation
    ("What was Wang Xiaochuan's previous role?" for "What was his previous role?"), or
    translated; `how` says how (qa.answering.conversation: "as asked", "with what it refers to", ...).
    `translation` is the English reading a Chinese question was answered through
    (qa/answering/translation.py), '' when it was read as it is.
    `yes_no` says the question asks yes or no: `text` is then the documents' sentence
    that says which (the evidence), never a "yes" or "no" of ours.
    """

    question: str
    found: bool
    text: str
    confidence: float
    quotes: tuple[Quote, ...] = field(default_factory=tuple)
    source: str | None = None
    start: int | None = None
    end: int | None = None
    sentence: str = ""
    query: str = ""
    translation: str = ""
    how: str = ""
    yes_no: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["quotes"] = [asdict(q) for q in self.quotes]
        return d
