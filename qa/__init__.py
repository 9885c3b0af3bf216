"""Extractive question answering over your own documents."""

from qa.answers import Answer, Quote
from qa.api import QA, answer, build
from qa.chunking import Chunk
from qa.errors import QAError

__all__ = ["QA", "Answer", "Chunk", "QAError", "Quote", "answer", "build"]
