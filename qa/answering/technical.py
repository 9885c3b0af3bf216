"""Answer types of technical text, and answers taken from a chunk's structure.

Documentation asks for things prose rarely names: identifiers (`requests.Timeout`,
`user_version`), call signatures (whose answer is the name), exceptions, constants,
command-line commands and flags (`--indent`, `hatch build -t wheel`), environment
variables, file names and paths (`.venv`, `~/.netrc`), versions and defaults.

- `ask(question)` reads which of these a question wants: IDENT ("which function /
  exception / option / variable ...?"), HOWTO ("how do I ...?"), DEFAULT ("what is the
  default ...?"), or none.
- `code_tokens` finds the code-like words of a sentence, whole: a leading dot or dash,
  inner dots, slashes and underscores are part of them; sentence punctuation, backticks,
  quotes and permalink marks around them are not.
- `term_name` is the identifier a definition term names (`exception
  requests.ReadTimeout(*args, **kwargs)` -> `requests.ReadTimeout`).
- `table_cell` is the cell of a table row under the column the question asks for.
- `command_line` is the best line of a code block for a how-to question, without its
  shell prompt.

Every span is a (start, end) slice of the document text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.ingest.blocks import CELL_SEPARATOR, CODE, DEFINITION, ROW
from qa.text import STOPWORDS, terms

IDENT, HOWTO, DEFAULT = "ident", "howto", "default"

IDENT_NOUNS = frozenset(
    """function functions method methods class classes exception exceptions error attribute attributes property
    properties constant constants variable variables option options flag flags switch argument arguments parameter
    parameters param keyword keywords pragma pragmas command commands subcommand dot-command dot-commands setting
    settings key keys field fields module modules package packages extra extras macro macros hook hooks file files
    filename filenames directory directories folder path paths extension extensions ending endings scheme
    qualifier operator specifier specifiers marker username header headers code codes table type decorator
    interface api opcode value""".split()
)
_WH = r"(?:which|what|name\s+the)"
_AUX = r"(?:can|do|does|did|is|are|was|were|has|have|had|should|will|would|may|must|could|to|of|in|on|for|from)\b"
_IDENT_Q = re.compile(
    rf"\b{_WH}\s+((?:(?!{_AUX})[\w./:+-]+\s+){{0,4}})({'|'.join(sorted(IDENT_NOUNS, key=len, reverse=True))})\b",
    re.I,
)
_HOWTO_Q = re.compile(
    r"^\s*(?:and\s+)?how\s+(?:do|can|should|would|could|may)\s+(?:i|you|we|one)\b|^\s*how\s+to\b"
    r"|\b(?:what|which)\s+(?:is\s+)?the\s+(?:best\s+|right\s+|recommended\s+|simplest\s+)?(?:way|command)\s+to\b",
    re.I,
)
_DEFAULT_Q = re.compile(r"\bdefaults?\b", re.I)

# A code-like word: what stays once the punctuation around a whitespace-delimited word is stripped.
_EDGE_OPEN = "\"'“‘`(<[{¶"
_EDGE_CLOSE = "\"'”’`)>]},.;:!?¶"
_CODE_SHAPE = re.compile(
    r"_|[A-Za-z0-9][./\\][A-Za-z_]|^[.~$%][A-Za-z_/\\]|^--?[A-Za-z]|\(\)|\w\(|=|::|:[a-z]+:|^<[A-Z_]+>$"
    r"|[A-Za-z]\*"
)
# In a document read with its structure, also CamelCase names and all-capitals keywords (VACUUM, SQLITE_BUSY);
# in plain text (prose) these are mostly names and acronyms.
_CODE_SHAPE_LOOSE = re.compile(r"[a-z][A-Z]|[A-Z]{2,}[a-z]+[A-Z]|^[A-Z][A-Z0-9]{2,}$")
_INITIALS = re.compile(r"(?:[A-Za-z]\.){1,4}[A-Za-z]?\.?")  # "U.S.", "e.g.": abbreviations, not code
_PROMPT = re.compile(r"^\s*(?:\$|>>>|\.\.\.|%|#|>|PS>|C:\\>)\s+")
_TERM_KEYWORDS = re.compile(  # used with .match(text, pos): anchored where it starts
    r"(?:(?:exception|class|property|classmethod|staticmethod|static|abstractmethod|abstract|async|await|final|"
    r"method|function|attribute|data|module|constant|var|const|def|fn|func|type|enum|struct|interface|macro|"
    r"pragma)\s+)+",
    re.I,
)
_NAME_END = re.compile(r"[(\s\[=:;,]|$")


@dataclass(frozen=True)
class Asked:
    """What a documentation question wants: `kind` (IDENT, HOWTO, DEFAULT or '') and the stems of its focus noun
    phrase ("which *Session method*" -> {"session", "method"})."""

    kind: str
    focus: frozenset[str] = frozenset()


def ask(question: str) -> Asked:
    """The technical answer type a question asks for (see the module's docstring)."""
    m = _IDENT_Q.search(question)
    if m:
        return Asked(IDENT, frozenset(terms(m.group(1) + " " + m.group(2))))
    if _HOWTO_Q.search(question):
        return Asked(HOWTO)
    if _DEFAULT_Q.search(question):
        return Asked(DEFAULT)
    return Asked("")


def is_howto(question: str) -> bool:
    """Whether a question asks how to do something ("How do I send form data?"): its answer is a statement
    or a command, not a few words. (A yes/no question is `qa.answering.conversation.is_yes_no`.)"""
    return bool(_HOWTO_Q.search(question))


def _without_spaces(text: str, a: int, b: int) -> tuple[int, int] | None:
    """text[a:b] without the white space around it; None when nothing else is left."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return (a, b) if b > a else None


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """A word without the punctuation, quotes, backticks and marks around it (balanced brackets kept)."""
    while a < b and text[a] in _EDGE_OPEN:
        if text[a] in "(<[{" and _balanced(text[a:b]):
            break
        a += 1
    while b > a and text[b - 1] in _EDGE_CLOSE:
        ch = text[b - 1]
        if ch in ")>]}" and _balanced(text[a:b]):
            break
        if ch == "." and b - a > 1 and text[b - 2] == ".":  # an ellipsis, as in "(X,Y,...)" or "BEGIN...COMMIT"
            break
        b -= 1
    return a, b


def _balanced(s: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{", ">": "<"}
    depth: list[str] = []
    for ch in s:
        if ch in "([{<":
            depth.append(ch)
        elif ch in pairs:
            if not depth or depth[-1] != pairs[ch]:
                return False
            depth.pop()
    return not depth


def is_code(word: str, loose: bool = True) -> bool:
    """Whether a word looks like code: an identifier, a flag, a path, a dotted name, a call; `loose` also takes
    CamelCase names and all-capitals keywords."""
    if not word or not any(c.isalpha() for c in word) or _INITIALS.fullmatch(word):
        return False
    return bool(_CODE_SHAPE.search(word) or (loose and _CODE_SHAPE_LOOSE.search(word)))


def code_tokens(text: str, start: int, end: int, loose: bool = True) -> list[tuple[int, int]]:
    """The code-like words of text[start:end], each as a whole slice (see the module's docstring)."""
    out = []
    for m in re.finditer(r"\S+", text[start:end]):
        a, b = _trim(text, start + m.start(), start + m.end())
        if b > a and is_code(text[a:b], loose):
            out.append((a, b))
    return out


def widen(text: str, a: int, b: int, start: int, end: int, loose: bool = True) -> tuple[int, int]:
    """A span grown to the whole code-like words it cuts (".venv" not "venv", "--fix" not "fix", "re.S" not "S"),
    and trimmed of the backticks, quotes and marks around it; within text[start:end]."""
    for ta, tb in code_tokens(text, max(start, a - 64), min(end, b + 64), loose):
        if ta < b and a < tb and (ta < a or tb > b):
            a, b = min(a, ta), max(b, tb)
    while a < b and text[a] in "`¶":
        a += 1
    while b > a and text[b - 1] in "`¶":
        b -= 1
    return a, b


def term_name(text: str, start: int, end: int) -> tuple[int, int]:
    """The identifier a definition term text[start:end] names: its first line without keywords ("exception",
    "class", "property") and without its parameters: `requests.get(url, params=None)` -> `requests.get`."""
    nl = text.find("\n", start, end)
    line_end = end if nl < 0 else nl
    a = start
    while a < line_end and text[a].isspace():
        a += 1
    keywords = _TERM_KEYWORDS.match(text, a, line_end)
    if keywords and keywords.end() < line_end:
        a = keywords.end()
    m = _NAME_END.search(text, a + 1, line_end)
    b = m.start() if m else line_end
    if text[a:b].upper() == "PRAGMA":  # "PRAGMA schema.user_version;": the pragma's name
        return term_name(text, b, line_end)
    return _trim(text, a, b) if b > a else (start, line_end)


def table_cell(question: str, text: str, row: tuple[int, int], header: str) -> tuple[int, int] | None:
    """The cell of the row text[row[0]:row[1]] under the column `question` asks for, or None.

    The asked-for column is one whose name shares the question's words while its cell does
    not (the cell the question already names is the row's key); without such a name, the
    one cell that says something the question does not.
    """
    names = header.split(CELL_SEPARATOR)
    cells, pos = [], row[0]
    for piece in text[row[0] : row[1]].split(CELL_SEPARATOR):
        cells.append((pos, pos + len(piece)))
        pos += len(piece) + len(CELL_SEPARATOR)
    if len(names) != len(cells) or len(cells) < 2:
        return None
    asked = set(terms(question))
    best, best_key = None, None
    for name, (a, b) in zip(names, cells, strict=True):
        cell_terms = set(terms(text[a:b]))
        if not text[a:b].strip() or (cell_terms and cell_terms <= asked):
            continue
        named = len(set(terms(name)) & asked)
        key = (named, -len(cell_terms & asked))
        if best_key is None or key > best_key:
            best, best_key = (a, b), key
    if best is None:
        return None
    return _without_spaces(text, *best)


def command_line(question: str, text: str, start: int, end: int, prefer: tuple[int, int] | None = None):
    """The line of code text[start:end] that answers a how-to question, without its prompt ("$ ").

    The line holding `prefer` (the reader's span) when there is one; else the line sharing the most of
    the question's words, the earliest on a tie; output lines (no prompt where others have one) last.
    """
    lines, pos = [], start
    for raw in text[start:end].split("\n"):
        lines.append((pos, pos + len(raw)))
        pos += len(raw) + 1
    prompted = any(_PROMPT.match(text[a:b]) for a, b in lines)
    asked = set(terms(question))
    best, best_key = None, None
    for i, (a, b) in enumerate(lines):
        line = text[a:b]
        if not line.strip() or line.lstrip().startswith(("#", "//", "--")):
            continue
        prompt = _PROMPT.match(line)
        holds = prefer is not None and a <= prefer[0] < b
        key = (holds, bool(prompt) or not prompted, len(set(terms(line)) & asked), -i)
        if best_key is None or key > best_key:
            best, best_key = (a + (prompt.end() if prompt else 0), b), key
    if best is None:
        return None
    return _without_spaces(text, *best)


def _focus_adjacent(text: str, a: int, b: int, focus: frozenset[str], start: int, end: int) -> bool:
    """Whether a focus noun stands right before or after text[a:b] ("the HATCH_ENV environment variable",
    "the detached option", "pragma user_version")."""
    before = text[max(start, a - 40) : a].split()[-2:]
    after = text[b : min(end, b + 40)].split()[:2]
    return bool(set(terms(" ".join(before + after))) & focus)


def best_code_token(
    question: str, asked: Asked, text: str, start: int, end: int, read: tuple[int, int] | None, loose: bool = True
) -> tuple[int, int] | None:
    """The code-like word of sentence text[start:end] an IDENT question asks for, or None.

    Scored by overlap with the reader's span, a focus noun right beside it, and saying
    something the question does not; the earliest wins a tie.
    """
    q_terms = set(terms(question))
    best, best_key = None, None
    candidates = code_tokens(text, start, end, loose)
    if not candidates and asked.focus and loose:
        # "Enabling the detached option": the plain word right before the asked-for noun
        for m in re.finditer(r"([\w-]+)\s+([\w-]+)", text[start:end]):
            word, noun = m.group(1), m.group(2)
            if set(terms(noun)) & asked.focus and terms(word) and not set(terms(word)) & q_terms:
                candidates.append((start + m.start(1), start + m.end(1)))
    for i, (a, b) in enumerate(candidates):
        token_terms = set(terms(text[a:b]))
        restates = bool(token_terms) and token_terms <= q_terms
        overlaps = read is not None and a < read[1] and read[0] < b
        key = (not restates, overlaps, _focus_adjacent(text, a, b, asked.focus, start, end), -i)
        if best_key is None or key > best_key:
            best, best_key = (a, b), key
    return best if best_key is not None and best_key[0] else None


_MARKED_DEFAULT = re.compile(r"(\S+)\s+\(default\)", re.I)


def default_value(question: str, text: str, start: int, end: int) -> tuple[int, int] | None:
    """The default a DEFAULT question asks for in text[start:end]: `VALUE` of `key=VALUE` whose key the
    question names (a call signature), or the word marked "(default)"; None when neither is there."""
    q_terms = set(terms(question))
    for m in re.finditer(r"([A-Za-z_][\w-]*)=([^\s,()]+)", text[start:end]):
        if set(terms(m.group(1).replace("_", " "))) & q_terms or m.group(1).lower() in question.lower():
            return start + m.start(2), start + m.end(2)
    m = _MARKED_DEFAULT.search(text, start, end)
    if m:
        return m.start(1), m.end(1)
    return None


def _words(text: str) -> set[str]:
    """Whitespace-separated words, lower case, without the punctuation around them."""
    out = set()
    for m in re.finditer(r"\S+", text):
        a, b = _trim(m.group(), 0, len(m.group()))
        word = m.group()[a:b].lower()
        if len(word) > 1 and word not in STOPWORDS:
            out.add(word)
    return out


def row_named(question: str, text: str, start: int, end: int) -> bool:
    """Whether a table row holds a word of the question as a whole word of its own ("==1.*", "micro"): the
    row the question is about."""
    return bool(_words(question) & _words(text[start:end]))


HOWTO_CHARS = 300  # a how-to answer: the sentence introducing the code and the command, when this short


def _with_intro(question: str, text: str, intro, code: tuple[int, int], read) -> tuple[int, int] | None:
    """A how-to answer from code: the sentence introducing it (ending with ':') through the command it gives,
    when that is short; else the command alone. Code without a prompt ("$ ", ">>> ") that is short
    (a snippet, a config block) is answered whole."""
    a, b = code
    prompted = any(_PROMPT.match(line) for line in text[a:b].split("\n"))
    whole = (a, b) if not prompted and b - a <= HOWTO_CHARS else None
    line = whole or command_line(question, text, a, b, read)
    if line is None:
        return None
    if intro is not None and text[intro[0] : intro[1]].rstrip().endswith(":") and line[1] - intro[0] <= HOWTO_CHARS:
        return intro[0], line[1]
    return line


def structured_answer(
    question: str, chunk, sentence: int, text: str, read: tuple[int, int] | None
) -> tuple[int, int] | None:
    """The answer a chunk's structure gives to `question` in its sentence `sentence`, or None.

    - a table row: the cell under the asked-for column;
    - an IDENT question: the name of the definition's term (unless the question names it already), else
      the code-like word of the sentence it asks for;
    - a HOWTO question: the command line of a code sentence, or of the code the sentence introduces;
    - a DEFAULT question over a signature: the value after `key=`.
    `read` is the reader's span, when it found one.
    """
    start, end = chunk.sentences[sentence]
    kind = chunk.sentence_kind(sentence)
    asked = ask(question)
    if kind == ROW and chunk.context:
        marked = default_value(question, text, start, end) if asked.kind == DEFAULT else None
        return marked or table_cell(question, text, (start, end), chunk.context)
    if asked.kind == IDENT:
        if chunk.context and chunk.kind == DEFINITION:
            a, b = term_name(text, chunk.context_start, chunk.context_start + len(chunk.context))
            names = set(terms(text[a:b]))
            if b > a and not (names and names <= set(terms(question))):
                return a, b
        loose = bool(chunk.sentence_kinds)
        if read is not None:
            if any(a < read[1] and read[0] < b for a, b in code_tokens(text, start, end, loose)):
                return None  # the reader's words hold code: they are the answer, made whole by `widen`
            if not code_tokens(text, start, end, loose):
                return None
        return best_code_token(question, asked, text, start, end, read, loose)
    if asked.kind == HOWTO:
        if kind == CODE:
            intro = sentence - 1 if sentence > 0 and chunk.sentence_kind(sentence - 1) != CODE else -1
            return _with_intro(question, text, chunk.sentences[intro] if intro >= 0 else None, (start, end), read)
        nxt = sentence + 1
        if text[start:end].rstrip().endswith(":") and nxt < len(chunk.sentences) and chunk.sentence_kind(nxt) == CODE:
            return _with_intro(question, text, (start, end), chunk.sentences[nxt], None)
        return None
    if asked.kind == DEFAULT:
        return default_value(question, text, start, end)
    return None


def fits(question: str, chunk, sentence: int, text: str) -> bool:
    """Whether a sentence holds what a documentation question asks for (the ranker's typed-span feature)."""
    asked = ask(question)
    kind = chunk.sentence_kind(sentence)
    if kind == ROW and chunk.context:
        start, end = chunk.sentences[sentence]
        cell = table_cell(question, text, (start, end), chunk.context)
        return row_named(question, text, start, end) and cell is not None
    if asked.kind == IDENT:
        loose = bool(chunk.sentence_kinds)
        return (chunk.kind == DEFINITION and bool(chunk.context)) or bool(
            code_tokens(text, *chunk.sentences[sentence], loose)
        )
    if asked.kind == HOWTO:
        nxt = sentence + 1
        return kind == CODE or (nxt < len(chunk.sentences) and chunk.sentence_kind(nxt) == CODE)
    return False
