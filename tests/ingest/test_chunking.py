"""Sentences, paragraphs, headings and chunks keep their exact place in the document."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.ingest.chunking import (
    Chunk,
    chunk_document,
    chunk_documents,
    document_title,
    heading_text,
    is_heading,
    paragraphs,
    split_sentences,
)
from qa.ingest.documents import Document
from qa.settings import ChunkSettings


def doc(text: str, path: str = "doc.txt") -> Document:
    return Document(path=path, text=text, sha256="0" * 64)


def sentences_of(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


# --- sentences ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "In October 2022, the U.S. Department of Commerce imposed a restriction. It hit chips.",
            ["In October 2022, the U.S. Department of Commerce imposed a restriction.", "It hit chips."],
        ),
        (
            "Wang established Beijing Guangnian Beyond Technology Co., Ltd. and acquired Oneflow. Then he left.",
            ["Wang established Beijing Guangnian Beyond Technology Co., Ltd. and acquired Oneflow.", "Then he left."],
        ),
        ("Dr. Smith led it. Prof. Sun helped.", ["Dr. Smith led it.", "Prof. Sun helped."]),
        ("Mr. Li met Ms. Wang in St. Louis. They talked.", ["Mr. Li met Ms. Wang in St. Louis.", "They talked."]),
        ("See Fig. 2 for details. It is clear.", ["See Fig. 2 for details.", "It is clear."]),
        ("Big firms, e.g. Baidu, lead. Others follow.", ["Big firms, e.g. Baidu, lead.", "Others follow."]),
        ("J. R. R. Tolkien wrote it. Readers loved it.", ["J. R. R. Tolkien wrote it.", "Readers loved it."]),
        ("It rained. Then it stopped! Did it? Yes.", ["It rained.", "Then it stopped!", "Did it?", "Yes."]),
        ("He said “Go.” Then he left.", ["He said “Go.”", "Then he left."]),
        ("Prices rose 5.5 percent. In 2023 they fell.", ["Prices rose 5.5 percent.", "In 2023 they fell."]),
        ("中国发展很快。模型很多！", ["中国发展很快。", "模型很多！"]),
        ("No final punctuation here", ["No final punctuation here"]),
        ("   Padded sentence.   ", ["Padded sentence."]),
        ("", []),
    ],
)
def test_split_sentences(text, expected):
    assert sentences_of(text) == expected


def test_split_sentences_inside_a_range_gives_document_offsets():
    text = "HEADER\nFirst one. Second one.\nTRAILER"
    start, end = text.index("First"), text.index("\nTRAILER")
    spans = split_sentences(text, start, end)
    assert [text[a:b] for a, b in spans] == ["First one.", "Second one."]
    assert spans[0][0] == start and spans[-1][1] == end


# --- headings and paragraphs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "heading", "text"),
    [
        ("# Intro", True, "Intro"),
        ("## Deep Dive", True, "Deep Dive"),
        ("- New Startups", True, "New Startups"),
        ("* Key Players", True, "Key Players"),
        ("• Chinese Tech Giants", True, "Chinese Tech Giants"),
        ("Challenges for China’s Large-Scale AI Model Development", True, None),
        ("This is a sentence.", False, None),
        ("A list follows:", False, None),
        ("Baidu, Alibaba,", False, None),
        ("2023", False, None),
        ("   ", False, None),
        ("word " * 20, False, None),
    ],
)
def test_is_heading(line, heading, text):
    assert is_heading(line) is heading
    if text is not None:
        assert heading_text(line) == text


MD = (
    "# Intro\n"
    "\n"
    "First paragraph, sentence one. Sentence two.\n"
    "\n"
    "- New Startups\n"
    "Startups grew fast. They raised money.\n"
    "Another paragraph right below.\n"
    "## Outlook\n"
    "The outlook is bright.\n"
)


def test_headings_become_chunk_headings_and_never_chunk_text():
    chunks = chunk_document(doc(MD, "a.md"), ChunkSettings())
    assert [(c.heading, c.text) for c in chunks] == [
        ("Intro", "First paragraph, sentence one. Sentence two."),
        ("New Startups", "Startups grew fast. They raised money."),
        ("New Startups", "Another paragraph right below."),
        ("Outlook", "The outlook is bright."),
    ]
    for c in chunks:
        for heading_line in ("# Intro", "- New Startups", "## Outlook", "New Startups", "Outlook"):
            assert heading_line not in c.text
        assert c.title == "a"
        assert c.embedding_text() == f"a\n{c.heading}\n{c.text}"
    untitled = chunk_document(doc(MD, "a.md"), ChunkSettings(titles=False))
    assert [c.embedding_text() for c in untitled] == [f"{c.heading}\n{c.text}" for c in chunks]
    assert all(c.title == "" for c in untitled)


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("03_Super_Bowl_50.txt", "Super Bowl 50"),
        ("notes/china-large-model-industry.txt", "china large model industry"),
        ("plain.md", "plain"),
    ],
)
def test_document_title_from_the_file_name(path, title):
    assert document_title(path) == title


def test_paragraph_numbers_and_line_numbers():
    chunks = chunk_document(doc(MD, "a.md"), ChunkSettings())
    assert [c.paragraph for c in chunks] == [1, 2, 3, 4]
    assert [c.line for c in chunks] == [3, 6, 7, 9]
    lines = MD.split("\n")
    for c in chunks:
        assert lines[c.line - 1].strip().startswith(c.text.split("\n")[0])


def test_line_numbers_with_crlf_and_blank_lines():
    text = "Title Line\r\n\r\n\r\nOne sentence here.\r\n\r\nTwo here. Three,\r\nstill three.\r\n"
    chunks = chunk_document(doc(text), ChunkSettings())
    assert [c.text for c in chunks] == ["One sentence here.", "Two here. Three,\r\nstill three."]
    assert [c.line for c in chunks] == [4, 6]
    assert [c.heading for c in chunks] == ["Title Line", "Title Line"]
    for c in chunks:
        assert c.line == text.count("\n", 0, c.start) + 1


def test_line_number_of_a_chunk_that_starts_inside_its_paragraph():
    sentence = "This sentence is about forty chars long."
    text = "Heading\n" + "\n".join([sentence + " And,"] * 3) + " " + sentence + "\n"
    chunks = chunk_document(doc(text), ChunkSettings(max_chars=100, overlap_sentences=0))
    assert len(chunks) > 1
    for c in chunks:
        assert c.line == text.count("\n", 0, c.start) + 1


def test_line_numbers_count_form_feed_pages_like_an_editor():
    """Plain-text documents (RFCs, manuals) put a form feed between pages; it is not a line break."""
    text = "Page one ends here.\n\x0c\nPage two starts here. It goes on.\nLast line.\n"
    chunks = chunk_document(doc(text), ChunkSettings())
    assert [c.text for c in chunks] == ["Page one ends here.", "Page two starts here. It goes on.", "Last line."]
    assert [c.line for c in chunks] == [text.count("\n", 0, c.start) + 1 for c in chunks] == [1, 3, 4]


def test_utf8_bom_does_not_end_up_in_the_heading():
    """Windows editors save UTF-8 with a byte-order mark; '# Intro' is still the heading 'Intro'."""
    text = "\ufeff# Intro\nThe body sentence is here.\n"
    (chunk,) = chunk_document(doc(text, "a.md"), ChunkSettings())
    assert chunk.heading == "Intro"
    assert text[chunk.start : chunk.end] == "The body sentence is here."


def test_heading_like_line_after_a_comma_continues_the_paragraph():
    text = "Partners include Baidu,\nAlibaba and Tencent\nin this list.\n"
    (para,) = paragraphs(text)
    assert text[para.start : para.end] == text.strip()
    assert para.heading == ""


def test_hard_wrapped_paragraph_is_not_taken_for_headings():
    """Plain text wrapped at ~70 columns: lines without final punctuation that run on into lowercase words."""
    text = (
        "The quick brown fox jumps over the lazy dog and then keeps running into\n"
        "the forest where it meets a big brown bear, which is friendly and calm\n"
        "and likes honey. The bear is friendly.\n"
    )
    chunks = chunk_document(doc(text), ChunkSettings())
    covered = "".join(c.text for c in chunks)
    for word in ("quick brown fox", "forest where it meets", "likes honey"):
        assert word in covered
    assert all(c.heading == "" for c in chunks)


# --- short documents: a heading with nothing under it is text ----------------------------------------


def texts_and_headings(text: str, path: str = "doc.txt") -> list[tuple[str, str]]:
    return [(c.text, c.heading) for c in chunk_document(doc(text, path), ChunkSettings())]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The wifi password is hunter2\n", [("The wifi password is hunter2", "")]),  # a one-line note
        ("Quarterly Planning Meeting", [("Quarterly Planning Meeting", "")]),  # a title alone
        ("# Release notes\n", [("Release notes", "")]),  # a Markdown title alone: its text, not its '#'
        ("Shopping list\n- Milk\n- Eggs\n- Bread\n", [("Shopping list\n- Milk\n- Eggs\n- Bread", "")]),
        ("Door code\r\n4711\r\n", [("4711", "Door code")]),  # a line with no letter is no heading: text under one
    ],
)
def test_a_short_document_is_text_not_a_heading(text, expected):
    assert texts_and_headings(text) == expected


def test_a_document_of_headings_only_keeps_the_one_with_something_under_it():
    """'# Title' has the rest under it; the short lines under it have nothing under them, so they are text."""
    assert texts_and_headings("# Title\n- Section\nAnother Heading\n", "a.md") == [
        ("- Section\nAnother Heading", "Title")
    ]


def test_headings_over_nothing_in_the_middle_are_text_and_the_last_heads_what_follows():
    text = (
        "REPORT TITLE\nSubtitle line\n\nBody text here.\n\n"
        "Packing list\n- passport\n- charger\n\nFlight\nIt leaves at 9.\n"
    )
    assert texts_and_headings(text) == [
        ("REPORT TITLE", ""),
        ("Body text here.", "Subtitle line"),
        ("Packing list\n- passport\n- charger", "Subtitle line"),
        ("It leaves at 9.", "Flight"),
    ]


def test_markdown_headings_with_sections_under_them_stay_headings():
    text = "# Project\n\n## Install\n\nRun the installer first.\n\n## Empty section\n\n# Usage\n\nCall it.\n"
    assert texts_and_headings(text, "a.md") == [
        ("Run the installer first.", "Install"),
        ("Empty section", "Install"),
        ("Call it.", "Usage"),
    ]


def test_decorative_marks_with_no_letter_or_digit_are_still_dropped():
    assert texts_and_headings("Some text.\n\n####\n", "a.md") == [("Some text.", "")]


# --- windows ----------------------------------------------------------------------------------------


def long_paragraph(n: int = 12) -> str:
    return " ".join(f"Sentence number {i} talks about topic {i} at some length." for i in range(n)) + "\n"


@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_windows_respect_max_chars_and_overlap(overlap):
    text = long_paragraph()
    settings = ChunkSettings(max_chars=200, overlap_sentences=overlap)
    chunks = chunk_document(doc(text), settings)
    all_sentences = split_sentences(text)
    assert len(chunks) > 2
    covered = [s for c in chunks for s in c.sentences]
    assert set(covered) == set(all_sentences)
    for c in chunks:
        assert c.end - c.start <= settings.max_chars
        assert c.text == text[c.start : c.end]
    for a, b in itertools.pairwise(chunks):
        shared = set(a.sentences) & set(b.sentences)
        assert len(shared) == overlap
        assert b.sentences[0][0] > a.sentences[0][0]


def test_a_sentence_longer_than_max_chars_is_one_chunk():
    sentence = "Word " * 60 + "end."
    (chunk,) = chunk_document(doc(sentence), ChunkSettings(max_chars=100))
    assert chunk.text == sentence


def test_chunk_ids_run_across_documents_and_dict_round_trip():
    docs = [doc(MD, "a.md"), doc(long_paragraph(), "b.txt")]
    chunks = chunk_documents(docs, ChunkSettings(max_chars=200))
    assert [c.id for c in chunks] == list(range(len(chunks)))
    assert {c.source for c in chunks} == {"a.md", "b.txt"}
    texts = {d.path: d.text for d in docs}
    for c in chunks:
        d = c.to_dict()
        assert "text" not in d
        assert Chunk.from_dict(d, texts[c.source][d["start"] : d["end"]]) == c


def test_the_bundled_article_heading_structure(tmp_path):
    from qa.api import PROJECT_ROOT
    from qa.ingest.documents import read_text

    path = PROJECT_ROOT / "corpus" / "china-large-model-industry.txt"
    text = read_text(path)
    chunks = chunk_document(doc(text, path.name), ChunkSettings())
    headings = {c.heading for c in chunks}
    assert {"Chinese Tech Giants", "New Startups", "Computer Vision AI Enterprises"} <= headings
    startups = [c for c in chunks if c.heading == "New Startups"]
    assert any("Huang Minlie" in c.text for c in startups)
    for c in chunks:
        assert "- New Startups" not in c.text and "- Chinese Tech Giants" not in c.text
        assert text[c.start : c.end] == c.text


# --- the property: offsets always slice back --------------------------------------------------------

_FIRST = ["Baidu", "The company", "In 2023 the firm", "Huawei", "Dr. Smith", "Its CEO", "“Quoted” text", "Beijing"]
_MIDDLE = [
    "launched",
    "models",
    "with",
    "U.S. Department",
    "Co., Ltd. and",
    "Dr. Smith",
    "e.g. Baidu,",
    "—",
    "–",
    "🚀",
    "“Four AI Tigers”",
    "over 80%",
    "A100",
    "naïve café",
    "(see Fig. 2)",
    "Mr. Li",
    "St. Louis",
    "’s",
]
_LAST = ["models", "chips", "2023", "growth", "Tsinghua University", "“ChatGPT”", "data 🚀", "Ltd"]
_END = [".", "!", "?", ".”", "…"]
_HEADINGS = ["# Intro", "## Deep Dive", "- New Startups", "- Chinese Tech Giants", "Challenges Ahead", "• Key Players"]


@st.composite
def documents_with_truth(draw):
    """A document built from headings and paragraphs, with the true sentence and heading offsets."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    parts: list[str] = []
    pos = 0
    sentences: list[tuple[int, int]] = []
    heading_lines: list[tuple[int, int, str]] = []  # start, end, heading text
    paragraph_spans: list[tuple[int, int, str]] = []  # start, end, expected heading
    current_heading = ""

    def put(s: str) -> tuple[int, int]:
        nonlocal pos
        parts.append(s)
        pos += len(s)
        return pos - len(s), pos

    if draw(st.booleans()):
        put(draw(st.sampled_from(["", newline, newline + "   " + newline])))
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            line = draw(st.sampled_from(_HEADINGS))
            a, b = put(line)
            current_heading = heading_text(line)
            heading_lines.append((a, b, current_heading))
            put(draw(st.sampled_from([newline, newline + newline, newline + " \t" + newline])))
        n_sentences = draw(st.integers(1, 5))
        para_start = pos
        wrapped = False
        for i in range(n_sentences):
            words = [draw(st.sampled_from(_FIRST))]
            words += draw(st.lists(st.sampled_from(_MIDDLE), max_size=6))
            words.append(draw(st.sampled_from(_LAST)))
            body = " ".join(words)
            if not wrapped and draw(st.booleans()) and len(words) > 2:  # a line break after a comma
                k = draw(st.integers(1, len(words) - 1))
                body = " ".join(words[:k]) + "," + newline + " ".join(words[k:])
                wrapped = True
            sentences.append(put(body + draw(st.sampled_from(_END))))
            if i < n_sentences - 1:
                put(" ")
        paragraph_spans.append((para_start, pos, current_heading))
        # a paragraph with a line break inside it ends with a blank line, so that no block of
        # several such paragraphs reads as hard-wrapped text (which is one paragraph per block)
        separators = [newline + newline, newline + " " + newline] + ([] if wrapped else [newline])
        put(draw(st.sampled_from(separators)))
    text = "".join(parts)
    return text, sentences, heading_lines, paragraph_spans


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(truth=documents_with_truth(), max_chars=st.integers(100, 400), overlap=st.integers(0, 2))
def test_chunks_always_slice_back_to_their_text(truth, max_chars, overlap):
    text, true_sentences, heading_lines, paragraph_spans = truth
    chunks = chunk_document(doc(text), ChunkSettings(max_chars=max_chars, overlap_sentences=overlap))
    assert chunks, "every generated document has at least one paragraph"
    seen_sentences = set()
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.text == c.text.strip() and c.text
        assert c.sentences and c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end
        for (a, b), nxt in zip(c.sentences, [*c.sentences[1:], None], strict=True):
            assert c.start <= a < b <= c.end
            if nxt is not None:
                assert b <= nxt[0]
        seen_sentences.update(c.sentences)
        # no heading line is ever part of a chunk
        for ha, hb, _ in heading_lines:
            assert hb <= c.start or ha >= c.end, f"heading line {text[ha:hb]!r} inside chunk {c.text!r}"
        # the heading is the nearest heading above
        owner = [p for p in paragraph_spans if p[0] <= c.start and c.end <= p[1]]
        assert len(owner) == 1, "a chunk lies inside one paragraph"
        assert c.heading == owner[0][2]
        assert c.line == text.count("\n", 0, c.start) + 1
        if len(c.sentences) > 1:
            assert c.end - c.start <= max_chars
    # sentence splitting found exactly the generated sentences: abbreviations ("U.S.", "Co., Ltd.",
    # "Dr.", "Fig.", "e.g.") never split one, and every real sentence end did
    assert sorted(seen_sentences) == true_sentences
    assert [c.paragraph for c in chunks] == sorted(c.paragraph for c in chunks)


_PIECES = [*"abcXYZ .,!?:;—–-#*•“”‘’\"'()0123456789\r\n\t🚀é", "\r\n", "\n\n", "Co., Ltd.", "U.S.", "Dr.", "The"]
_ANY_TEXT = st.lists(st.sampled_from(_PIECES), max_size=200).map("".join)


_LINE_PIECES = [*"abcXYZ .,!?:;—-*•“”()0123456789\t🚀é", "Co., Ltd.", "U.S.", "The", "the", "- "]
_PLAIN_LINES = st.lists(st.lists(st.sampled_from(_LINE_PIECES), max_size=12).map("".join), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(lines=_PLAIN_LINES, newline=st.sampled_from(["\n", "\r\n", "\n\n"]))
def test_no_line_of_plain_text_is_lost(lines, newline):
    """Every line with a letter or digit is in a chunk, or is the heading of the chunk right below it."""
    text = newline.join(lines) + newline
    chunks = chunk_document(doc(text), ChunkSettings(max_chars=100, overlap_sentences=0))
    pos = 0
    for line in lines:
        start, pos = text.index(line, pos), text.index(line, pos) + len(line)
        if not any(ch.isalnum() for ch in line) or not line.strip():
            continue
        first = start + len(line) - len(line.lstrip())
        inside = any(c.start <= first < c.end for c in chunks)
        below = [c for c in chunks if c.start >= pos]
        assert inside or (below and below[0].heading == heading_text(line)), f"{line!r} lost from {text!r}"


@settings(max_examples=200, deadline=None)
@given(text=_ANY_TEXT)
def test_any_text_chunks_slice_back(text):
    """Whatever the input, offsets are exact and sentences lie inside their chunk."""
    chunks = chunk_document(doc(text), ChunkSettings(max_chars=100, overlap_sentences=1))
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.text.strip() == c.text and c.text
        for a, b in c.sentences:
            assert c.start <= a < b <= c.end
