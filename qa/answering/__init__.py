"""Stage 3, answering: from a question in its conversation to the exact words that answer it.

In the order a question flows: `conversation` reads it with the earlier turns
(`Reading`; `resolver` says what it refers to, `focus` which document the
conversation is about, `conversation_model` whether it starts a new topic),
`translation` reads a Chinese question in English too, `retrieval` finds the
chunks, `extraction` picks the sentence (ordered by `ranking`, read by the span
reader in `reading`, typed spans from `spans`) and the words, and `confidence`
says how sure it is. `fitted` finds the fitted models' files; `calibration` and
`conversation_model` fit them.
"""
