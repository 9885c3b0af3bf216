# ruff: noqa: E501  (the HTML fixtures keep the long lines of the real pages they stand for)
"""The structure readers: HTML, Markdown and Word read into text and blocks that know what they are.

The fixtures are shaped like the real documents they stand for: a Sphinx API page (definition
lists with their permalink marks, "[source]" links, the prev/next bar and the sidebar), an
SQLite-style page (tables with a header row, an FAQ question in bold, code in <pre>), a MkDocs
Markdown page (a pipe table, a fenced block, inline code, an admonition).
"""

from __future__ import annotations

from qa.ingest.blocks import CODE, DEFINITION, HEADER, HEADING, ITEM, LABEL_LEVEL, PARAGRAPH, ROW, TERM
from qa.ingest.chunking import chunk_document, sentence_inputs
from qa.ingest.documents import Document, read_text
from qa.ingest.formats import read_bytes
from qa.settings import ChunkSettings
from tests.conftest import make_docx

SPHINX = """<!DOCTYPE html>
<html><head><title>Developer Interface — Requests 2.28.1 documentation</title>
<script>var DOCUMENTATION_OPTIONS = {};</script></head>
<body>
<div class="related" role="navigation" aria-label="related navigation">
  <h3>Navigation</h3><ul><li class="right"><a href="genindex.html">index</a></li>
  <li class="right"><a href="user/quickstart.html">next</a> |</li><li class="right"><a href="index.html">previous</a> |</li></ul>
</div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper"><div class="body" role="main">
<section id="developer-interface">
<h1>Developer Interface<a class="headerlink" href="#developer-interface" title="Permalink to this heading">¶</a></h1>
<section id="exceptions"><h2>Exceptions<a class="headerlink" href="#exceptions" title="Permalink to this heading">¶</a></h2>
<dl class="py exception">
<dt class="sig sig-object py" id="requests.ReadTimeout">
<em class="property"><span class="pre">exception</span><span class="w"> </span></em><span class="sig-prename descclassname"><span class="pre">requests.</span></span><span class="sig-name descname"><span class="pre">ReadTimeout</span></span><span class="sig-paren">(</span><em class="sig-param"><span class="o"><span class="pre">*</span></span><span class="n"><span class="pre">args</span></span></em>, <em class="sig-param"><span class="o"><span class="pre">**</span></span><span class="n"><span class="pre">kwargs</span></span></em><span class="sig-paren">)</span><a class="reference internal" href="_modules/requests/exceptions.html#ReadTimeout"><span class="viewcode-link"><span class="pre">[source]</span></span></a><a class="headerlink" href="#requests.ReadTimeout" title="Permalink to this definition">¶</a></dt>
<dd><p>The server did not send any data in the allotted amount of time.</p>
</dd></dl>
<dl class="py class">
<dt class="sig sig-object py" id="requests.Session">
<em class="property"><span class="pre">class</span><span class="w"> </span></em><span class="sig-prename descclassname"><span class="pre">requests.</span></span><span class="sig-name descname"><span class="pre">Session</span></span><a class="headerlink" href="#requests.Session" title="Permalink to this definition">¶</a></dt>
<dd><p>A Requests session.</p>
<dl class="py method">
<dt class="sig sig-object py" id="requests.Session.mount">
<span class="sig-name descname"><span class="pre">mount</span></span><span class="sig-paren">(</span><em class="sig-param"><span class="n"><span class="pre">prefix</span></span></em>, <em class="sig-param"><span class="n"><span class="pre">adapter</span></span></em><span class="sig-paren">)</span><a class="headerlink" href="#requests.Session.mount" title="Permalink to this definition">¶</a></dt>
<dd><p>Registers a connection adapter to a prefix.</p>
<dl class="field-list simple"><dt class="field-odd">Parameters<span class="colon">:</span></dt>
<dd class="field-odd"><p><strong>prefix</strong> – the URL prefix.</p></dd></dl>
</dd></dl>
</dd></dl>
</section></section>
</div></div></div>
<div class="sphinxsidebar" role="navigation" aria-label="main navigation"><h3>Quick search</h3>
<form class="search"><input type="text" name="q"></form></div></div>
<div class="footer">&#169;MMXVIX. A Kenneth Reitz Project.</div>
</body></html>
"""

SQLITE = """<html><head><title>Limits</title></head><body>
<div class="nosearch"><div class="menu mainmenu"><ul><li><a href="index.html">Home</a>
<li><a href="docs.html">Documentation</a></ul></div></div>
<h1>Datatypes</h1>
<p><b>(1) How do I list all tables in the shell?</b></p>
<blockquote><p>Use the <tt>.tables</tt> command:</p>
<pre>
sqlite&gt; .tables
t1  t2
</pre></blockquote>
<table border="1">
<caption>Affinity name examples</caption>
<tr><th>Example Typenames</th><th>Resulting Affinity</th></tr>
<tr><td>INT<br>INTEGER</td><td>INTEGER</td></tr>
<tr><td>DECIMAL(10,5)<br>BOOLEAN</td><td>NUMERIC</td></tr>
</table>
<ul><li>first item<li>second item</ul>
</body></html>
"""

MKDOCS = """# Hatch configuration

-----

Configuration is stored in a `config.toml` file. Make a virtual environment in `.venv` and
run `hatch fmt --fix` to format; [more](../cli/reference.md#hatch).

| Level | Default style |
| --- | --- |
| `warning` | `bold yellow` |
| `waiting` | `bold magenta` |

```console
$ hatch build -t wheel
```

!!! tip "Faster startup"
    Hatch uses **lazy imports** to start quickly.
"""


def blocks_of(text: str, blocks) -> list[tuple[str, str]]:
    return [(b.kind, text[b.start : b.end]) for b in blocks]


def test_sphinx_definition_lists_keep_their_terms_without_permalinks_or_navigation():
    got = read_bytes(SPHINX.encode(), "html")
    text = got.text
    assert "exception requests.ReadTimeout(*args, **kwargs)" in text, "the signature as a browser shows it"
    for noise in ("¶", "[source]", "previous", "Quick search", "Kenneth Reitz", "Navigation", "DOCUMENTATION"):
        assert noise not in text
    kinds = blocks_of(text, got.blocks)
    assert kinds[:4] == [
        (HEADING, "Developer Interface"),
        (HEADING, "Exceptions"),
        (TERM, "exception requests.ReadTimeout(*args, **kwargs)"),
        (DEFINITION, "The server did not send any data in the allotted amount of time."),
    ]
    term, definition = got.blocks[2], got.blocks[3]
    assert definition.of == 2 and term.path == (0, 1) and definition.path == (0, 1, 2)
    mount = next(i for i, b in enumerate(got.blocks) if text[b.start : b.end] == "mount(prefix, adapter)")
    session = next(i for i, b in enumerate(got.blocks) if text[b.start : b.end] == "class requests.Session")
    assert got.blocks[mount].kind == TERM and session in got.blocks[mount].path, "a method sits under its class"


def test_html_tables_pre_and_bold_questions_keep_their_structure():
    got = read_bytes(SQLITE.encode(), "html")
    text = got.text
    assert "Home" not in text and "Documentation" not in text, "the page's menu is not content"
    kinds = blocks_of(text, got.blocks)
    assert (HEADING, "(1) How do I list all tables in the shell?") in kinds
    label = next(b for b in got.blocks if text[b.start : b.end].startswith("(1)"))
    assert label.level == LABEL_LEVEL
    assert (PARAGRAPH, "Use the .tables command:") in kinds
    assert (CODE, "sqlite> .tables\nt1  t2") in kinds, "code keeps its line breaks"
    assert (HEADER, "Example Typenames | Resulting Affinity") in kinds
    assert (ROW, "DECIMAL(10,5) BOOLEAN | NUMERIC") in kinds
    header = next(i for i, b in enumerate(got.blocks) if b.kind == HEADER)
    assert all(b.of == header for b in got.blocks if b.kind == ROW)
    assert [t for k, t in kinds if k == ITEM] == ["first item", "second item"]


def test_markdown_renders_inline_code_tables_fences_and_admonitions():
    got = read_bytes(MKDOCS.encode(), "markdown")
    text = got.text
    assert "`" not in text and "](" not in text and "|" not in text.split("\n")[0]
    assert "Make a virtual environment in .venv and run hatch fmt --fix to format; more." in text
    kinds = blocks_of(text, got.blocks)
    assert kinds[0] == (HEADING, "Hatch configuration")
    assert (HEADER, "Level | Default style") in kinds
    assert (ROW, "warning | bold yellow") in kinds and (ROW, "waiting | bold magenta") in kinds
    assert (CODE, "$ hatch build -t wheel") in kinds
    assert (HEADING, "Faster startup") in kinds, "an admonition's title is a label"
    assert (PARAGRAPH, "Hatch uses lazy imports to start quickly.") in kinds, "its content, dedented, is text"


def test_word_heading_styles_and_tables_keep_their_order():
    import io

    import docx

    document = docx.Document(io.BytesIO(make_docx(["Intro text."])))
    document.add_heading("Limits", level=2)
    document.add_paragraph("The default is 2000.")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["Name", "Value"], ["max_columns", "2000"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("After the table.")
    buf = io.BytesIO()
    document.save(buf)
    got = read_bytes(buf.getvalue(), "docx")
    assert blocks_of(got.text, got.blocks) == [
        (PARAGRAPH, "Intro text."),
        (HEADING, "Limits"),
        (PARAGRAPH, "The default is 2000."),
        (HEADER, "Name | Value"),
        (ROW, "max_columns | 2000"),
        (PARAGRAPH, "After the table."),
    ]


def test_chunks_carry_their_term_columns_and_heading_path(tmp_path):
    for name, data, fmt in (("api.html", SPHINX, "html"), ("config.md", MKDOCS, "markdown")):
        (tmp_path / name).write_text(data, encoding="utf-8")
        got = read_bytes(data.encode(), fmt)
        doc = Document(name, got.text, "x", fmt, (), got.blocks)
        assert read_text(tmp_path / name) == doc.text, "the stored text is what reading the file again gives"
        chunks = chunk_document(doc, ChunkSettings())
        for c in chunks:
            assert c.text == doc.text[c.start : c.end]
            assert c.context == "" or doc.text[c.context_start : c.context_start + len(c.context)] == c.context
        inputs = sentence_inputs(doc, chunks)
        assert len(inputs) == sum(len(c.sentences) for c in chunks)
        if fmt == "html":
            (timeout,) = [c for c in chunks if "allotted" in c.text]
            assert timeout.kind == DEFINITION and timeout.context.startswith("exception requests.ReadTimeout")
            assert timeout.path == "Developer Interface › Exceptions › exception requests.ReadTimeout(*args, **kwargs)"
            assert timeout.text.startswith("exception requests.ReadTimeout"), "the term opens its definition's chunk"
            assert (
                "Exceptions › exception requests.ReadTimeout(*args, **kwargs): "
                "The server did not send any data in the allotted amount of time." in inputs
            )
            assert "class requests.Session › mount(prefix, adapter): Registers a connection adapter to a prefix." in (
                inputs
            ), "a method's sentences are embedded with its class"
            (mount,) = [c for c in chunks if "Registers a connection adapter" in c.text]
            assert mount.context == "mount(prefix, adapter)", "the method, not its 'Parameters' field"
            assert "Parameters" in mount.text and "prefix – the URL prefix." in mount.text
        else:
            (rows,) = [c for c in chunks if c.kind == ROW]
            assert rows.context == "Level | Default style" and rows.heading == "Hatch configuration"
            assert rows.text == "warning | bold yellow\nwaiting | bold magenta"
            assert "Hatch configuration: Level: warning; Default style: bold yellow" in inputs
            (code,) = [c for c in chunks if "hatch build" in c.text]
            assert code.sentence_kind(len(code.sentences) - 1) == CODE
