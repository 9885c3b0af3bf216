"""Unit tests of ui.render with hand-made answers: no model, no index, no Gradio."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from qa.answering.conversation import last_turn
from qa.answers import Answer, Quote
from qa.errors import IndexMissingError, QuestionError
from ui.blocks import CODE, TABLE_ROW, render_blocks
from ui.render import (
    CONFIDENCE_HELP,
    NEAREST,
    NOT_FOUND,
    confidence_word,
    escape,
    highlight_span,
    render_answer,
    render_error,
    render_passage,
    render_source,
    source_rows,
    upload_rows,
)

DOC = "Intro line.\nAlibaba builds Tongyi. Huawei launched Pangu Chat in 2023. Tencent debuted HunYuan."
ANSWER = "Huawei launched Pangu Chat in 2023."


def quote(text: str = DOC, start: int = 0, highlight: tuple[int, int] | None = None, **kw) -> Quote:
    fields = dict(source="notes/china.txt", score=1.0, paragraph=2, line=7, heading="Giants")
    fields.update(kw)
    return Quote(text=text, start=start, end=start + len(text), highlight=highlight, **fields)


def answer(found: bool = True, text: str = ANSWER, confidence: float = 0.87, quotes=None, **kw) -> Answer:
    if quotes is None:
        s = DOC.index(ANSWER) + 500
        quotes = (quote(start=500, highlight=(s, s + len(ANSWER))), quote("Other passage.", start=900))
    fields = {"question": "Who launched Pangu Chat?", **kw}
    return Answer(found=found, text=text if found else "", confidence=confidence, quotes=tuple(quotes), **fields)


def marked(rendered: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", rendered, flags=re.S)]


class _Html(HTMLParser):
    """Tags, attributes and text of rendered HTML, each text with the (tag, class) chain around it."""

    VOID = frozenset(["br", "hr", "img", "input", "meta", "link"])

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.stack: list[tuple[str, str]] = []
        self.placed: list[tuple[str, tuple[tuple[str, str], ...]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in self.VOID:
            self.stack.append((tag, dict(attrs).get("class") or ""))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        self.placed.append((data, tuple(self.stack)))

    def inside(self, tag: str, cls: str = "") -> str:
        """The text inside elements `tag` (with class `cls`), joined."""
        return "".join(t for t, chain in self.placed if any(g == tag and cls in c for g, c in chain))

    def outside(self, tag: str, cls: str = "") -> str:
        return "".join(t for t, chain in self.placed if not any(g == tag and cls in c for g, c in chain))


def to_html(markdown: str) -> _Html:
    """Render like a chat bubble does: CommonMark with raw HTML allowed, tables, strikethrough."""
    import markdown_it

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
    assert "\n" not in render_passage(q), "one line: a single HTML block in the reply"


def test_highlighted_text_is_escaped_too():
    text = "Before <b>bold</b> *after*"
    q = quote(text, highlight=(7, 18))
    assert re.findall(r"<mark>(.*?)</mark>", render_passage(q)) == ["&#60;b&#62;bold&#60;/b&#62;"]
    assert marked(render_passage(q)) == ["<b>bold</b>"]


def test_highlight_on_blank_space_marks_nothing():
    q = quote("Alpha   \n\nBeta", highlight=(6, 9))
    assert "<mark>" not in render_passage(q)
    assert to_html(render_passage(q)).inside("p") == "AlphaBeta"


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
    "| <script>alert(1)</script> | ![i](http://evil/i.png) |\n| --- | --- |\n| `<b>` | [l](http://evil/) |",
    "```\n<img src=x onerror=alert(1)>\n```",
    ">>> print('<iframe src=http://evil/>')",
]
# what a reply may hold: these tags, and class attributes with these values (plus the confidence's help text)
TAGS = {"p", "blockquote", "strong", "br", "mark", "details", "summary", "div", "span", "small"}
TAGS |= {"table", "thead", "tbody", "tr", "th", "td", "pre", "code", "ul", "li"}
CLASSES = {"passages", "passage", "source", "more", "cite", "read-as", "heading", "term", "items", "quoted", "context"}
CLASSES |= {"confidence sure", "confidence likely", "confidence not-sure", "score"}


def shown(payload: str) -> list[str]:
    """The words of a payload that must be on screen: everything but table pipes, fences and backticks."""
    return re.findall(r"[^\s|`#-]+", payload.replace("```", ""))


def check_safe(reply: str, payload: str) -> _Html:
    assert "<script" not in reply and "<img" not in reply and "<a " not in reply and "<iframe" not in reply
    page = to_html(reply)
    assert set(page.tags) <= TAGS, page.tags
    assert {a for a in page.attrs if a != ("title", CONFIDENCE_HELP)} <= {("class", c) for c in CLASSES}
    text = "".join(page.text)
    for word in shown(payload):
        assert word in text, word
    return page


@pytest.mark.parametrize("payload", PAYLOADS)
def test_document_text_is_shown_literally(payload):
    q = quote(payload, source="a_[b](c).txt", heading="<i>h</i>")
    check_safe(render_answer(Answer("q", True, payload, 0.9, (q,))), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_opened_source_shows_document_text_literally(payload):
    doc = f"Text before. {payload} Text after."
    start = doc.index(payload)
    q = quote(payload, start=start, source="<b>x</b>.txt", highlight=(start, start + len(payload)))
    page = check_safe(render_answer(Answer("q", True, payload, 0.9, (q,)), texts={"<b>x</b>.txt": doc}), payload)
    opened = page.inside("details", "source")
    for line in payload.splitlines():  # the opened source is the document's own characters
        assert line.strip() in opened
    assert "Text before." in opened and "Text after." in opened


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
    page = to_html(render_answer(answer()))
    assert "notes/china.txt, paragraph 2 (line 7), characters 500-" in page.inside("p", "cite")
    assert "Giants" in page.inside("p", "cite")


# --- tables and code ---------------------------------------------------------------------------

TABLE = "| Model | Maker | Year |\n|---|:---:|---|\n| Pangu Chat | Huawei | 2023 |\n| Tongyi | Alibaba | 2023 |"


def cells_of(rendered: str, tag: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", rendered)]


def test_a_markdown_table_is_a_small_table_with_its_header_and_the_answer_cell_marked():
    s = TABLE.index("Huawei")
    out = render_passage(quote(TABLE, highlight=(s, s + len("Huawei"))))
    assert cells_of(out, "th") == ["Model", "Maker", "Year"]
    assert cells_of(out, "td") == ["Pangu Chat", "Huawei", "2023", "Tongyi", "Alibaba", "2023"]
    assert marked(out) == ["Huawei"]
    assert "---" not in out and "|" not in html.unescape(out)


def test_a_table_row_takes_its_column_names_from_the_document_above_it():
    doc = "Intro.\n\n" + TABLE + "\n\nAfter."
    row = "| Tongyi | Alibaba | 2023 |"
    start = doc.index(row)
    out = render_passage(quote(row, start=start), doc=doc)
    assert cells_of(out, "th") == ["Model", "Maker", "Year"]
    assert '<th class="context">' in out
    assert cells_of(out, "td") == ["Tongyi", "Alibaba", "2023"]
    under = doc.index("|---")  # a passage that starts with the separator line
    out = render_passage(quote(doc[under : start + len(row)], start=under), doc=doc)
    assert cells_of(out, "th") == ["Model", "Maker", "Year"]
    assert cells_of(out, "td") == ["Pangu Chat", "Huawei", "2023", "Tongyi", "Alibaba", "2023"]


def test_word_table_rows_take_the_first_row_of_their_table_as_header():
    doc = "Staff memo\n\nName | Room | Day\n\nAda | 12 | Monday\n\nBob | 14 | Friday"
    start = doc.index("Bob")
    out = render_passage(quote("Bob | 14 | Friday", start=start), doc=doc)
    assert cells_of(out, "th") == ["Name", "Room", "Day"]
    assert cells_of(out, "td") == ["Bob", "14", "Friday"]
    alone = render_passage(quote("Bob | 14 | Friday", start=start))  # without the document: no header
    assert "<th" not in alone and cells_of(alone, "td") == ["Bob", "14", "Friday"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Run this:\n\n```python\nprint('hi')\nx = 1\n```\nDone.", ["print('hi')", "x = 1"]),
        ("Run this:\n\n    pip install qa\n    qa serve\n\nDone.", ["pip install qa", "qa serve"]),
        (">>> import sys\n>>> sys.path", [">>> import sys", ">>> sys.path"]),
    ],
)
def test_code_blocks_are_shown_as_code(text, code):
    out = render_passage(quote(text))
    blocks = re.findall(r"<pre><code>(.*?)</code></pre>", out)
    assert len(blocks) == 1
    assert html.unescape(blocks[0]).split("<br>") == code
    assert "```" not in html.unescape(out)


def test_inline_code_is_code_and_the_answer_inside_it_is_marked():
    text = "Call `qa.answer(question)` to ask."
    s = text.index("qa.answer")
    out = render_passage(quote(text, highlight=(s, s + len("qa.answer"))))
    assert re.findall(r"<code>(.*?)</code>", html.unescape(out)) == ["<mark>qa.answer</mark>(question)"]
    assert marked(out) == ["qa.answer"]


def test_indented_lines_inside_a_paragraph_stay_text():
    out = render_passage(quote("A paragraph that goes on\n    with an indented line."))
    assert "<pre>" not in out


def test_a_chunks_kind_when_known_decides_how_it_is_shown():
    text = "def f():\n    return 1"
    assert "<pre><code>" in render_blocks(text, kind=CODE)
    assert "<pre>" not in render_blocks(text)  # read from the text: a paragraph
    assert "<td>" in render_blocks("Pangu Chat | Huawei", kind=TABLE_ROW)
    with pytest.raises(ValueError, match="kind must be one of"):
        render_blocks(text, kind="poem")


def test_headings_and_list_items_keep_their_words():
    out = render_passage(quote("## Giants\n- Baidu: Ernie\n- Huawei: Pangu"))
    page = to_html(out)
    assert page.inside("p", "heading") == "Giants"
    assert page.inside("li") == "- Baidu: Ernie- Huawei: Pangu"


# --- what a reply shows ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "word"),
    [(1.0, "sure"), (0.8, "sure"), (0.79, "likely"), (0.5, "likely"), (0.49, "not sure"), (0.0, "not sure")],
)
def test_confidence_is_said_in_words_with_the_number_in_small_type(confidence, word):
    assert confidence_word(confidence) == word
    page = to_html(render_answer(answer(confidence=confidence)))
    assert page.inside("span", "confidence") == word
    assert page.inside("small", "score") == f"confidence {confidence:.2f}"
    assert ("title", CONFIDENCE_HELP) in page.attrs, "the number explained on hover"


def three_quotes() -> list[Quote]:
    s = DOC.index(ANSWER) + 500
    return [
        quote(start=500, highlight=(s, s + len(ANSWER))),
        quote("Second passage.", start=900, heading=""),
        quote("Third passage.", start=1200, heading=""),
    ]


def test_a_reply_opens_with_the_answer_and_its_passage_the_others_folded():
    reply = render_answer(answer(quotes=three_quotes()), texts={"notes/china.txt": "x" * 2000})
    assert reply.startswith(f"**{ANSWER}**\n")
    page = to_html(reply)
    folded = page.inside("details", "more")
    assert "Second passage." in folded and "Third passage." in folded
    assert ANSWER in page.outside("details", "more"), "the answer's passage is in view"
    assert "2 more passages" in page.inside("summary")
    assert marked(re.sub(r'<details class="source">.*?</details>', "", reply)) == [ANSWER]


@pytest.mark.parametrize(("n", "label"), [(1, None), (2, "1 more passage")])
def test_fewer_passages_fold_fewer(n, label):
    page = to_html(render_answer(answer(quotes=three_quotes()[:n])))
    assert (label in page.inside("summary")) if label else "more" not in "".join(page.text)


def test_follow_up_reads_the_answer_back_from_the_first_line():
    history = [
        {"role": "user", "content": "Who launched Pangu Chat?"},
        {"role": "assistant", "content": render_answer(answer())},
    ]
    question, previous = last_turn(history)
    assert question == "Who launched Pangu Chat?"
    assert previous == ANSWER


@pytest.mark.parametrize("quotes", [(), None])
def test_not_found_says_so_plainly_with_the_nearest_passages_folded(quotes):
    reply = render_answer(answer(found=False, confidence=0.12, quotes=quotes))
    assert reply.splitlines()[0] == NOT_FOUND
    page = to_html(reply)
    assert page.inside("small", "score") == "confidence 0.12"
    assert page.inside("span", "confidence") == "", "no word of confidence for an answer not given"
    if quotes is None:
        assert page.inside("summary").startswith(f"{NEAREST} 2 passages (they may not answer it)")
        assert "Other passage." in page.inside("details", "more")
        assert "Other passage." not in page.outside("details", "more")
    assert "<mark>" not in reply  # nearest passages are not the answer: nothing is highlighted
    assert last_turn([{"role": "user", "content": "q"}, {"role": "assistant", "content": reply}])[1] == ""


def test_answer_extract_on_several_lines_stays_on_the_first_line():
    reply = render_answer(answer(text="Huawei\nlaunched  it", quotes=()))
    assert reply.splitlines()[0] == "**Huawei launched it**"


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


def test_found_without_extract_still_shows_confidence():
    page = to_html(render_answer(answer(text="", quotes=())))
    assert page.inside("small", "score") == "confidence 0.87"
    assert (
        last_turn(
            [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": render_answer(answer(text="", quotes=()))},
            ]
        )[1]
        == ""
    )


# --- how the question was read -----------------------------------------------------------------


@pytest.mark.parametrize("found", [True, False])
def test_the_english_reading_of_a_chinese_question_is_shown_escaped(found):
    q = quote(highlight=None)
    got = Answer("谁?", found, ANSWER if found else "", 0.9 if found else 0.1, (q,), translation="who is <b>X</b>?")
    page = to_html(render_answer(got))
    assert page.inside("p", "read-as") == "Read in English, word by word, as: who is <b>X</b>?"
    assert "<b>" not in render_answer(got)


def test_a_follow_up_shows_how_it_was_read_with_the_previous_turn():
    got = answer(question="And Tencent?", query="Which company launched Tencent?")
    page = to_html(render_answer(got))
    assert page.inside("p", "read-as") == "Read with the previous turn as: Which company launched Tencent?"


@pytest.mark.parametrize("query", ["", "Who launched Pangu Chat?", "who launched  pangu chat?"])
def test_no_read_as_line_when_the_question_was_read_as_asked(query):
    assert "read-as" not in render_answer(answer(query=query))
