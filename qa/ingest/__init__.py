"""Stage 1, ingest: from files in a corpus folder to chunks of text with their places.

`documents` lists and hashes the corpus folder's files; `formats` reads each
format into text; `chunking` cuts text into paragraphs, sentences and chunks;
`uploads` adds files to the corpus and takes them out again, safely.
"""
