"""Unit tests of ui.render with hand-made answers: no model, no index, no Gradio."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from qa.answering.conversation import last_turn
from qa.answers import Answer, Quote
from qa.errors import IndexMissingError, QuestionError
from ui.render import (
    NEAREST,
    NOT_FOUND,
    candidate_questions,
    escape,
    highlight_span,
    render_answer,
    render_error,
    render_passage,
    render_source,
    source_rows,
    spread,
    upload_rows,
)

DOC = "Intro line.\nAlibaba builds Tongyi. Huawei launched Pangu Chat in 2023. Tencent debuted HunYuan."
ANSWER = "Huawei launched Pangu Chat in 2023."


def quote(text: str = DOC, start: int = 0, highlight: tuple[int, int] | None = None, **kw) -> Quote:
    fields = dict(source="notes/china.txt", score=1.0, paragraph=2, line=7, heading="Giants")
    fields.update(kw)
    return Quote(text=text, start=start, end=start + len(text), highlight=highlight, **fields)


def answer(found: bool = True, text: str = ANSWER, confidence: float = 0.87, quotes=None) -> Answer:
    if quotes is None:
        s = DOC.index(ANSWER) + 500
        quotes = (quote(start=500, highlight=(s, s + len(ANSWER))), quote("Other passage.", start=900))
    return Answer(
        question="Who launched Pangu Chat?",
        found=found,
        text=text if found else "",
        confidence=confidence,
        quotes=tuple(quotes),
    )


def marked(rendered: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", rendered, flags=re.S)


class _Html(HTMLParser):
    """Tags and text of rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def to_html(markdown: str) -> _Html:
    """Render like a chat bubble does: CommonMark with raw HTML allowed, tables, strikethrough."""
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    parser = _Html()
    parser.feed(md.render(markdown))
    return parser


# --- highlight ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "offset"),
    [
        ("Intro line.", 0),  # at the start of the quote
        (ANSWER, 0),  # in the middle
        ("Tencent debuted HunYuan.", 0),  # at the end
        ("Pangu Chat", 1234),  # the quote starts deep in its document
    ],
)
def test_highlight_marks_exactly_the_answer_words(phrase, offset):
    s = DOC.index(phrase) + offset
    q = quote(start=offset, highlight=(s, s + len(phrase)))
    assert highlight_span(q) == (s - offset, s - offset + len(phrase))
    assert marked(render_passage(q)) == [phrase]


def test_highlight_overhanging_the_quote_is_clipped():
    q = quote(start=100, highlight=(90, 100 + DOC.index("\n")))
    assert marked(render_passage(q)) == ["Intro line."]


@pytest.mark.parametrize("highlight", [None, (0, 50), (5000, 5010)])
def test_no_highlight_when_quote_does_not_hold_the_answer(highlight):
    q = quote(start=100, highlight=highlight)
    assert highlight_span(q) is None
    assert "<mark>" not in render_passage(q)


def test_highlight_across_lines_is_marked_on_each_line():
    s = DOC.index("line.")
    q = quote(highlight=(s, DOC.index(" Huawei")))
    assert marked(render_passage(q)) == ["line.", "Alibaba builds Tongyi."]
    assert all(line.startswith(">") for line in render_passage(q).splitlines())


def test_highlighted_text_is_escaped_too():
    text = "Before <b>bold</b> *after*"
    q = quote(text, highlight=(7, 18))
    assert marked(render_passage(q)) == ["&lt;b&gt;bold&lt;/b&gt;"]


# --- escaping ----------------------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "![x](http://evil/x.png)",
    "[click me](http://evil/)",
    "<a href='http://evil/'>x</a>",
    "**bold** _it_ `code` ~~gone~~",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "# Heading\n- item\n1. first\n===\n    indented",
    "&lt;script&gt; &amp; \\*",
    "$$x^2$$ <!-- comment --> <mark>fake</mark>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_document_text_is_shown_literally(payload):
    q = quote(payload, source="a_[b](c).txt", heading="<i>h</i>")
    reply = render_answer(Answer("q", True, payload, 0.9, (q,)))
    assert "<script" not in reply and "<img" not in reply and "<a " not in reply
    html = to_html(reply)
    assert set(html.tags) <= {"p", "blockquote", "strong", "br"}, html.tags
    assert not html.attrs
    text = "".join(html.text)
    for line in payload.splitlines():
        assert line.strip() in text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_opened_source_shows_document_text_literally(payload):
    doc = f"Text before. {payload} Text after."
    start = doc.index(payload)
    q = quote(payload, start=start, source="<b>x</b>.txt", highlight=(start, start + len(payload)))
    reply = render_answer(Answer("q", True, payload, 0.9, (q,)), texts={"<b>x</b>.txt": doc})
    assert "<script" not in reply and "<img" not in reply and "<a " not in reply
    html = to_html(reply)
    allowed = {"p", "blockquote", "strong", "br", "mark", "details", "summary", "div"}
    assert set(html.tags) <= allowed, html.tags
    assert set(html.attrs) <= {("class", "source")}
    text = "".join(html.text)
    for line in payload.splitlines():
        assert line.strip() in text
    assert "Text before." in text and "Text after." in text


def test_the_opened_source_marks_the_answer_inside_the_quote_with_neighbouring_text():
    doc = "A" * 50 + " first words. " + ANSWER + " Last words. " + "Z" * 50
    qs = doc.index("first")
    qe = doc.index("Last")
    s = doc.index(ANSWER)
    q = quote(doc[qs:qe], start=qs, highlight=(s, s + len(ANSWER)))
    out = render_source(q, doc, chars=20)
    assert out.startswith("… ") and out.endswith(" …")
    assert f"<strong>first words. <mark>{ANSWER}</mark> </strong>Last words." in out
    full = render_source(q, doc, chars=500)
    assert not full.startswith("…") and not full.endswith("…")


def test_not_found_sources_open_without_a_mark():
    q = quote(highlight=None)
    reply = render_answer(Answer("q", False, "", 0.1, (q,)), texts={q.source: DOC})
    assert "<details" in reply and "<mark>" not in reply


def test_source_and_upload_rows():
    rows = [
        {"path": "a.pdf", "status": "indexed", "format": "pdf", "chunks": 3, "indexed_at": "T", "reason": ""},
        {"path": "b.txt", "status": "skipped", "format": "", "chunks": 0, "indexed_at": "", "reason": "binary file"},
    ]
    assert source_rows(rows) == [["a.pdf", "indexed", "pdf", 3, "T"], ["b.txt", "skipped", "", 0, "binary file"]]
    added = [
        SimpleNamespace(name="x.pdf", status="added", path="x.pdf", reason=""),
        SimpleNamespace(name="a.txt", status="added", path="a (2).txt", reason=""),
        SimpleNamespace(name="y.exe", status="refused", path="", reason="not a supported type"),
        SimpleNamespace(name="z.txt", status="replaced", path="z.txt", reason=""),
    ]
    assert upload_rows(added) == [
        ["x.pdf", "indexed", ""],
        ["a.txt", "indexed", "as a (2).txt"],
        ["y.exe", "refused", "not a supported type"],
        ["z.txt", "replaced", ""],
    ]


@pytest.mark.parametrize("payload", ["![x](http://evil/x.png)", "see http://evil/ and www.evil.com"])
def test_no_link_or_image_syntax_survives(payload):
    out = escape(payload)
    assert "](" not in out and "![" not in out
    assert "http://" not in out and "www.evil" not in out  # no bare-URL autolinks either


def test_escape_script_and_image():
    assert escape("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert escape("![x](http://evil/x.png)") == "\\!\\[x\\]\\(http\\://evil/x.png\\)"


def test_citation_and_file_name_are_shown():
    reply = render_answer(answer())
    assert "notes/china.txt, paragraph 2 \\(line 7\\), characters 500-" in reply
    assert "Giants" in reply


# --- wording -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("confidence", "shown"), [(0.0, "0.00"), (0.5, "0.50"), (0.873, "0.87"), (1.0, "1.00")])
def test_confidence_is_shown_on_the_first_line(confidence, shown):
    first = render_answer(answer(confidence=confidence)).splitlines()[0]
    assert f"confidence {shown}" in first


def test_found_reply_starts_with_the_answer_and_quotes_each_passage():
    reply = render_answer(answer())
    assert reply.startswith(f"**{ANSWER}**")
    assert marked(reply) == [ANSWER]  # only the quote that holds the answer is highlighted
    assert reply.count("\n\n> ") == 2 and reply.count("\n\n— ") == 2


def test_follow_up_reads_the_answer_back_from_the_first_line():
    history = [
        {"role": "user", "content": "Who launched Pangu Chat?"},
        {"role": "assistant", "content": render_answer(answer())},
    ]
    question, previous = last_turn(history)
    assert question == "Who launched Pangu Chat?"
    assert previous.startswith(ANSWER)


@pytest.mark.parametrize("quotes", [(), None])
def test_not_found_wording(quotes):
    reply = render_answer(answer(found=False, confidence=0.12, quotes=quotes))
    assert reply.splitlines()[0] == f"{NOT_FOUND} (confidence 0.12)"
    assert (NEAREST in reply) == (quotes is None)
    assert "<mark>" not in reply  # nearest passages are not the answer: nothing is highlighted
    assert last_turn([{"role": "user", "content": "q"}, {"role": "assistant", "content": reply}])[1] == ""


def test_answer_extract_on_several_lines_stays_on_the_first_line():
    reply = render_answer(answer(text="Huawei\nlaunched  it", quotes=()))
    assert reply.splitlines()[0] == "**Huawei launched it** (confidence 0.87)"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            QuestionError("the question is empty; type a question about the documents"),
            "⚠️ the question is empty; type a question about the documents",
        ),
        (IndexMissingError("no index in /tmp/x"), "⚠️ no index in /tmp/x"),
        (QuestionError("bad <b>question</b>"), "⚠️ bad &lt;b&gt;question&lt;/b&gt;"),
        (RuntimeError(), "⚠️ RuntimeError"),
    ],
)
def test_render_error(exc, expected):
    assert render_error(exc) == expected


# --- example questions -------------------------------------------------------------------------


def test_candidate_questions_come_from_names_then_headings():
    chunks = [
        SimpleNamespace(text="Meanwhile, CloudWalk Technology publicized its Comfort Model.", heading="Vision"),
        SimpleNamespace(text="The United States leads. SenseTime unveiled SenseNova.", heading="Race"),
    ]
    questions = candidate_questions(chunks)
    assert questions[:2] == ["What is CloudWalk Technology?", "What is the United States?"]
    assert {"What is Comfort Model?", "What is SenseTime?", "What is SenseNova?"} <= set(questions)
    assert questions[-2:] == ["What does the document say about Vision?", "What does the document say about Race?"]
    assert candidate_questions([]) == []


class CountingChunks(Sequence):
    """A corpus of `n` chunks that counts which ones are read."""

    def __init__(self, n: int) -> None:
        self.n, self.read = n, set()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if not isinstance(i, int) or not 0 <= i < self.n:
            raise IndexError(i)
        self.read.add(i)
        return SimpleNamespace(text=f"Company{i} Holdings launched the model Alpha{i}.", heading="")


@pytest.mark.parametrize("n", [1, 299, 300, 301, 1_000_000])
def test_example_names_come_from_at_most_300_chunks_spread_over_the_corpus(n):
    chunks = CountingChunks(n)
    picked = spread(chunks)
    assert len(picked) == min(n, 300) == len(chunks.read)
    assert 0 in chunks.read and (n == 1 or max(chunks.read) >= n * 299 // 300), "from the first to near the last"


def test_highlight_on_blank_space_marks_nothing():
    q = quote("Alpha   \n\nBeta", highlight=(6, 9))
    assert "<mark>" not in render_passage(q)
    assert render_passage(q) == "> Alpha\n>\n> Beta"


def test_found_without_extract_still_shows_confidence():
    assert render_answer(answer(text="", quotes=())) == "(confidence 0.87)"


@pytest.mark.parametrize("found", [True, False])
def test_the_english_reading_of_a_chinese_question_is_shown_escaped(found):
    q = quote(highlight=None)
    answer = Answer("谁?", found, ANSWER if found else "", 0.9 if found else 0.1, (q,), translation="who is <b>X</b>?")
    reply = render_answer(answer)
    lines = reply.split("\n\n")
    assert lines[1] == "_Read in English, word by word, as: who is &lt;b&gt;X&lt;/b&gt;?_"
    assert "Read in English" not in render_answer(Answer("q", found, ANSWER if found else "", 0.5, (q,)))
