"""The chat UI: a thin Gradio layer over `qa.api`. Formatting lives in `ui.render`.

    python -m ui.app [options of `qa serve`]      (or `ui.serve.serve(...)` from Python)

Two tabs: **Chat** (questions, answers with their quotes; each citation opens
the passage in its document; example questions from the documents added last;
settings for the number of quotes and the confidence needed) and **Documents**
(`ui.documents`: add files, see each one's status, remove one after a
confirmation or restore one, follow a build in one progress display, stop it).
Every few seconds the page asks whether the index or the corpus folder changed
(`ui.shared.SharedBot.look`): an index rebuilt by the CLI is loaded and the page
says what it added or removed; files put into the corpus folder by hand are named
and the re-scan button offers to index them.

Every handler answers with a message, never an exception: a `QAError` in its
own words, anything else as "could not …; see the server log". Stop stops only
the builds of the session that pressed it (`ui.builds`); what one client may
cost the server is bounded (`ui.guard`); Gradio's copies of uploaded files are
deleted once the files are in the corpus, and any left behind after an hour.

API endpoints, for `gradio_client.Client("http://127.0.0.1:7860/")`:

    history = client.predict("Which company launched Pangu Chat?", [], api_name="/chat")
    # in:  message (str), history (list of {"role": "user"|"assistant", "content": ...} dicts; [] to start),
    #      optional quotes (int, 1-8, default 3) and threshold (float, 0-1, default 0.5)
    # out: the history with the question and the reply appended. Gradio 6 sends each content as a
    #      list of parts, [{"type": "text", "text": "..."}]; the reply (Markdown) is
    #      history[-1]["content"][0]["text"]. Pass the history back to ask a follow-up.
    #      A bad question (empty, too long) gets an assistant message starting "⚠️ ", never an exception.
    status, results, sources, _ = client.predict([handle_file("report.pdf")], api_name="/add")
    # in: files; out: a status line, a table of what became of each file, the sources table, the document list
    status, sources, _ = client.predict("report.pdf", api_name="/remove")  # any document the index has now
    status, sources, _ = client.predict("report.pdf", api_name="/restore")  # a removed one, by name or path
    status, sources, _ = client.predict(api_name="/rebuild")
    # status: "Indexed N documents, M chunks · model … · built … (1 added)", or "⚠️ <why not>"
    client.predict(api_name="/stop")  # stops this client's own build, even one whose files are still uploading
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

import gradio as gr
from starlette.middleware import Middleware

from qa.api import QA, default_qa
from qa.errors import QAError
from qa.settings import AnswerSettings
from ui.documents import PRIVATE, DocumentsTab, rescan_label, session_of
from ui.guard import Guard, Limits, check_history
from ui.live import FOLDER_LABELS
from ui.look import launch_options  # noqa: F401 (callers take the launch options from here)
from ui.render import escape, render_answer, render_error, source_rows
from ui.shared import SharedBot, Watched, describe, explain

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
log = logging.getLogger(__name__)

TITLE = "Ask your documents"
DESCRIPTION = (
    "Answers are quotes from your documents, each with the file, page or paragraph and line it comes from. "
    "Open a citation to see the passage in its document."
)
EXAMPLES = 4  # example questions shown under the question box
UPLOAD_CACHE = (600, 3600)  # Gradio's delete_cache: every 10 minutes, uploads older than an hour are deleted
WATCH_SECONDS = 2.0  # how often each page asks whether the index or the corpus folder changed


class ChatBlocks(gr.Blocks):
    """Gradio Blocks whose server applies `ui.guard.Guard` (request size, requests per session, logins)."""

    limits = Limits()

    def pending(self, session: str) -> int:
        """Events `session` has queued or running (Gradio's own count; tests/ui/test_app_limits.py checks it)."""
        return len(getattr(self._queue, "pending_event_ids_session", {}).get(session, ()))

    def launch(self, *args, app_kwargs: dict | None = None, **kwargs):
        app_kwargs = dict(app_kwargs or {})
        guard = Middleware(Guard, limits=self.limits, pending=self.pending)
        app_kwargs["middleware"] = [*app_kwargs.get("middleware", ()), guard]
        return super().launch(*args, app_kwargs=app_kwargs, **kwargs)


def example_updates(questions: list[str]) -> list:
    """Updates of the examples row and its buttons for these questions (unused buttons hidden)."""
    padded = [*questions, *[""] * (EXAMPLES - len(questions))][:EXAMPLES]
    return [gr.update(visible=bool(questions)), *(gr.update(value=q, visible=bool(q)) for q in padded)]


def notes(seen: Watched) -> str:
    """What the status line adds about the corpus folder and the index on disk."""
    out = ""
    if seen.folder:
        out += f" · not indexed yet: {escape(seen.folder.words(FOLDER_LABELS))} (Documents → Re-scan)"
    return out + (f" · {seen.problem}" if seen.problem else "")


def build_app(
    bot_factory: Callable[[], QA] = default_qa,
    *,
    limits: Limits | None = None,
    delete_cache: tuple[int, int] = UPLOAD_CACHE,
    watch_seconds: float = WATCH_SECONDS,
) -> gr.Blocks:
    """The chat app. `limits` bounds what one client may ask (`ui.guard`); `delete_cache` is Gradio's
    (every `frequency` seconds, uploaded files older than `age` seconds are deleted); every `watch_seconds`
    each page asks whether the index or the corpus folder changed."""
    holder = SharedBot(bot_factory)
    limits = limits or Limits()
    try:
        bot = holder.get()
        status, examples = describe(bot), holder.examples(EXAMPLES)
    except QAError as exc:
        status, examples = render_error(exc), []
    defaults = AnswerSettings()

    def chat(
        message: str, history: list | None, quotes: int = defaults.top_k, threshold: float = defaults.threshold
    ) -> list[dict]:
        """Answer `message` given the earlier turns; return the history with both turns appended."""
        asked = [{"role": "user", "content": escape(message)}] if isinstance(message, str) and message.strip() else []
        try:
            history = check_history(history, limits)
        except QAError as exc:  # too long: answer without echoing it
            return [*asked, {"role": "assistant", "content": render_error(exc)}]
        try:
            current = holder.get()
            got = current.answer(message, history, top_k=int(quotes), threshold=float(threshold))
            reply = render_answer(got, current.index.texts)
        except Exception as exc:  # a QAError in its words; a bug: say so in the chat, keep the app up
            reply = explain(exc, "answer")
        return [*history, *asked, {"role": "assistant", "content": reply}]

    def examples_now() -> list:
        return example_updates(holder.examples(EXAMPLES))

    with ChatBlocks(title=TITLE, analytics_enabled=False, delete_cache=delete_cache) as demo:
        demo.limits = limits
        gr.Markdown(f"# {TITLE}\n{DESCRIPTION}")
        status_line = gr.Markdown(status, elem_id="status")
        with gr.Tab("Chat"):
            chatbot = gr.Chatbot(
                label="Answers",
                height=560,
                latex_delimiters=[],
                allow_tags=False,
                buttons=["copy"],
                autoscroll=False,  # HEAD scrolls to the start of each reply instead
                line_breaks=False,  # the extract and its confidence share a line
                elem_id="chat",
            )
            with gr.Row():
                box = gr.Textbox(
                    placeholder="Ask a question about the documents", show_label=False, scale=6, elem_id="question"
                )
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
            # Example questions as buttons (Gradio's Examples cut a question after 60 characters); one click asks.
            with gr.Row(elem_id="examples", visible=bool(examples)) as examples_row:
                gr.Markdown("Try:", elem_classes="try")
                example_buttons = [
                    gr.Button(q, size="sm", variant="secondary", scale=0, elem_classes="example", visible=bool(q))
                    for q in [*examples, *[""] * (EXAMPLES - len(examples))]
                ]
            with gr.Accordion("Answer settings", open=False, elem_id="settings"):
                quotes = gr.Slider(1, 8, value=defaults.top_k, step=1, label="Quotes shown", elem_id="quotes")
                threshold = gr.Slider(
                    0.0,
                    1.0,
                    value=defaults.threshold,
                    step=0.05,
                    label="Confidence needed to answer (below it: “not found” with the nearest passages)",
                    elem_id="threshold",
                )
        example_outputs = [examples_row, *example_buttons]
        docs = DocumentsTab(holder, status_line, examples_now, example_outputs)
        watcher = gr.Timer(watch_seconds)

        triggers = [box.submit, send.click]
        gr.on(triggers, chat, [box, chatbot, quotes, threshold], [chatbot], api_name="chat")
        # the box empties as the question is sent (the chat already has its text), so a next question
        # typed while this one is answered is kept
        gr.on(triggers, lambda: "", None, [box], queue=False, api_visibility="private")
        for button in example_buttons:  # the button's label is the question
            button.click(chat, [button, chatbot, quotes, threshold], [chatbot], api_visibility="private")

        def watch(request: gr.Request):
            """What changed since this page last looked: the index (loaded again), the corpus folder."""
            skip = [gr.skip()] * (4 + len(example_outputs))
            session = session_of(request)
            if holder.builds.running_in(session):
                return skip  # its own build's end step shows what it did
            try:
                seen = holder.look()
                shown: Watched | None = holder.shown.get(session)
                if shown == seen:
                    return skip
                holder.shown.put(session, seen)
                bot = holder.get()
                line, lists = describe(bot), [gr.skip(), gr.skip()]
                if shown is None or shown.build_id != seen.build_id:
                    changes = holder.changes_since(shown.build_id if shown else None)
                    line += f" · updated: {escape(changes.words())}" if changes else ""
                    lists = [
                        source_rows(bot.index.manifest.sources()),
                        gr.update(choices=holder.documents(), value=None),
                    ]
                    examples = examples_now()
                else:
                    examples = [gr.skip()] * len(example_outputs)
                return line + notes(seen), *lists, rescan_label(seen.folder), *examples
            except QAError:
                return skip  # no index: the status line says why already
            except Exception as exc:
                explain(exc, "look for changes")
                return skip

        def load(request: gr.Request):
            """A page opens: the index as it is now, its examples, and what the corpus folder holds."""
            line, sources, choices, restorable = docs.refresh()
            try:
                seen = holder.look()
                holder.shown.put(session_of(request), seen)
                return line + notes(seen), sources, choices, restorable, rescan_label(seen.folder), *examples_now()
            except Exception as exc:
                if not isinstance(exc, QAError):
                    explain(exc, "open the page")
                return line, sources, choices, restorable, gr.skip(), *[gr.skip()] * len(example_outputs)

        shown = [status_line, *docs.lists, docs.rebuild_button, *example_outputs]
        watcher.tick(watch, None, shown, queue=False, **PRIVATE)
        demo.load(
            load, None, [status_line, *docs.lists, docs.to_restore, docs.rebuild_button, *example_outputs], **PRIVATE
        )
    return demo


def main(argv: list[str] | None = None) -> int:
    """`python -m ui.app [options]`: the same options as `qa serve`, read by the same parser."""
    from qa.cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
