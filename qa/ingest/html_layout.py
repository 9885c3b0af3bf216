"""An HTML page's tree, checked before it is read as text.

Reading is not interruptible, so what it may cost is checked first: the
number of elements (time and memory grow with them) and how deep they nest
(libxml2 stops nesting at 256 and drops what lies deeper, so such a page would
lose text silently). The structure reader (`qa.ingest.html_reader`) writes a
table row's cells one after another, never padded, so its text is never more
than the page's own.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.etree import ParserError
from lxml.html import HtmlElement, document_fromstring

from qa.ingest.limits import FormatError, ReadLimits

PARSER_DEPTH = 256  # libxml2's nesting limit without XML_PARSE_HUGE: deeper elements are dropped
_XML_DECLARATION = re.compile(r"^<\?xml [^>]+?\?>")


def html_tree(markup: str) -> HtmlElement | None:
    """The tree lxml parses `markup` into (an XML declaration dropped, text that is not HTML as one `pre`);
    None for blank markup."""
    markup = markup.strip()
    if not markup:
        return None
    if markup.startswith("<?xml "):
        markup = _XML_DECLARATION.sub("", markup, count=1)
    try:
        return document_fromstring(markup)
    except ParserError:
        return document_fromstring("<pre>" + markup + "</pre>")


def check_tree(tree: HtmlElement, limits: ReadLimits) -> None:
    """Raise FormatError when the tree has too many elements or nests as deep as the parser stops."""
    count = depth = deepest = 0
    for event, _ in etree.iterwalk(tree, events=("start", "end")):
        if event == "start":
            count += 1
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    if count > limits.html_elements:
        raise FormatError(f"{count:,} HTML elements, more than the {limits.html_elements:,} read")
    if deepest >= PARSER_DEPTH:
        raise FormatError(f"HTML nested {PARSER_DEPTH} or more elements deep, where the parser stops reading")
