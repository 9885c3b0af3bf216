"""Extractive question answering over your own documents."""

from qa.answers import Answer, Quote
from qa.api import QA, answer, build
from qa.errors import QAError
from qa.ingest.chunking import Chunk

__all__ = ["QA", "Answer", "Chunk", "QAError", "Quote", "answer", "build"]
