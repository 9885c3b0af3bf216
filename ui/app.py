"""The chat UI: a thin Gradio layer over `qa.api`. Formatting lives in `ui.render`.

    python -m ui.app [--index DIR] [--corpus DIR] [--model NAME] [--host 127.0.0.1] [--port 7860]

Two tabs: **Chat** (questions, answers with their quotes; each citation opens
the passage in its document; settings for the number of quotes and the
confidence needed) and **Documents** (add files, see each one's status, remove
one, stop a long build).

API endpoints, for `gradio_client.Client("http://127.0.0.1:7860/")`:

    history = client.predict("Which company launched Pangu Chat?", [], api_name="/chat")
    # in:  message (str), history (list of {"role": "user"|"assistant", "content": ...} dicts; [] to start),
    #      optional quotes (int, 1-8, default 3) and threshold (float, 0-1, default 0.5)
    # out: the history with the question and the reply appended. Gradio 6 sends each content as a
    #      list of parts, [{"type": "text", "text": "..."}]; the reply (Markdown) is
    #      history[-1]["content"][0]["text"]. Pass the history back to ask a follow-up.
    #      A bad question (empty, too long) gets an assistant message starting "⚠️ ", never an exception.
    status, results, sources = client.predict([handle_file("report.pdf")], api_name="/add")
    # in: files; out: a status line, a table of what became of each file, the sources table
    status, sources = client.predict("report.pdf", api_name="/remove")
    status, sources = client.predict(api_name="/rebuild")
    # status: "Indexed N documents, M chunks · model … · built … (1 added)", or "⚠️ <why not>"
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Callable

import gradio as gr

from qa.api import QA, add, build, corpus_of, default_qa, remove, reset_default
from qa.errors import QAError
from qa.ingest.documents import max_bytes
from qa.ingest.formats import FORMATS
from qa.settings import AnswerSettings
from qa.threads import pin_threads
from ui.examples import example_questions
from ui.look import launch_options
from ui.render import (
    SOURCE_COLUMNS,
    UPLOAD_COLUMNS,
    escape,
    render_answer,
    render_error,
    source_rows,
    upload_rows,
)

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
log = logging.getLogger(__name__)

TITLE = "Ask your documents"
DESCRIPTION = (
    "Answers are quotes from your documents, each with the file, page or paragraph and line it comes from. "
    "Open a citation to see the passage in its document."
)
EXAMPLES = 4  # example questions shown under the question box


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe(bot: QA, verb: str = "Index:") -> str:
    """The status line: what the loaded index holds."""
    m = bot.index.manifest
    counts = f"{_plural(m.counts.get('documents', len(m.documents)), 'document')}, "
    counts += _plural(m.counts.get("chunks", len(bot.index.chunks)), "chunk")
    return f"{verb} {counts} · model {escape(m.model)} · built {escape(m.built_at)}"


def describe_changes(report) -> str:
    changes = [
        f"{len(paths)} {label}"
        for label, paths in (("added", report.added), ("changed", report.changed), ("removed", report.removed))
        if paths
    ]
    return f" ({', '.join(changes)})" if changes else " (no change)"


class _Bot:
    """The loaded QA, shared by all sessions; swapped whole after a build. `cancel` stops a running build."""

    def __init__(self, factory: Callable[[], QA]) -> None:
        self.factory, self.bot, self.lock = factory, None, threading.Lock()
        self.cancel = threading.Event()

    def get(self) -> QA:
        with self.lock:
            if self.bot is None:
                self.bot = self.factory()
                pin_threads(1)  # one thread answers a query many times faster than two fighting
            return self.bot

    def reload(self) -> QA:
        """Load the index again after a build; answers in flight finish on the old one."""
        old = self.get()
        new = QA.load(
            old.index.path,
            corpus=corpus_of(old.index.manifest, old.index.path),
            embedder=old.embedder,
            settings=old.settings,
            on_stale="error",
        )
        with self.lock:
            self.bot = new
        if self.factory is default_qa:
            reset_default()  # the cached default still holds the old index
        return new

    def paths(self):
        bot = self.get()
        return corpus_of(bot.index.manifest, bot.index.path), bot.index.path, bot.embedder


def build_app(bot_factory: Callable[[], QA] = default_qa) -> gr.Blocks:
    holder = _Bot(bot_factory)
    try:
        bot = holder.get()
        status, sources = describe(bot), source_rows(bot.index.manifest.sources())
        examples = example_questions(bot, EXAMPLES)
    except QAError as exc:
        status, examples, sources = render_error(exc), [], []
    defaults = AnswerSettings()

    def chat(
        message: str, history: list | None, quotes: int = defaults.top_k, threshold: float = defaults.threshold
    ) -> list[dict]:
        """Answer `message` given the earlier turns; return the history with both turns appended."""
        history = list(history or [])
        try:
            current = holder.get()
            got = current.answer(message, history, top_k=int(quotes), threshold=float(threshold))
            reply = render_answer(got, current.index.texts)
        except QAError as exc:
            reply = render_error(exc)
        except Exception as exc:  # a bug: say so in the chat, keep the app up
            log.exception("could not answer %r", message)
            reply = render_error(RuntimeError(f"could not answer ({type(exc).__name__}); see the server log"))
        asked = [{"role": "user", "content": escape(message)}] if message and message.strip() else []
        return [*history, *asked, {"role": "assistant", "content": reply}]

    def _after_build(report) -> tuple[str, list, dict]:
        new = holder.reload()
        rows = source_rows(new.index.manifest.sources())
        choices = gr.update(choices=sorted(new.index.manifest.documents), value=None)
        return describe(new, verb="Indexed") + describe_changes(report), rows, choices

    def _failed(exc: QAError) -> tuple[str, object, dict]:
        return render_error(exc), gr.skip(), gr.skip()

    def rebuild(progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's idiom)
        """Re-sync the index with its corpus folder (new and changed documents only), then load it."""
        holder.cancel.clear()
        try:
            corpus_dir, index_dir, embedder = holder.paths()
            progress(0, desc="Indexing documents")
            report = build(corpus_dir, index_dir, embedder=embedder, progress=True, cancel=holder.cancel)
            return _after_build(report)
        except QAError as exc:
            return _failed(exc)

    def upload(files: list | None, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        """Copy the uploaded files into the corpus and index them; say what became of each."""
        if not files:
            return "⚠️ choose one or more files first", gr.skip(), gr.skip(), gr.skip()
        paths = [str(f) for f in files]  # Gradio keeps each upload under its own name in a temporary folder
        names = [os.path.basename(p) for p in paths]
        holder.cancel.clear()
        try:
            corpus_dir, index_dir, embedder = holder.paths()
            progress(0, desc="Indexing new documents")
            added, report = add(
                paths, corpus_dir, index_dir, names=names, embedder=embedder, progress=True, cancel=holder.cancel
            )
        except QAError as exc:
            return render_error(exc), gr.skip(), gr.skip(), gr.skip()
        results = upload_rows(added, report)
        if report is None:
            return "Nothing was added.", results, gr.skip(), gr.skip()
        status, rows, choices = _after_build(report)
        return status, results, rows, choices

    def remove_document(name: str | None):
        """Take a document out of the corpus (kept in the index's removed/ folder) and out of the index."""
        if not name:
            return "⚠️ choose a document to remove", gr.skip(), gr.skip()
        try:
            corpus_dir, index_dir, embedder = holder.paths()
            report = remove([name], corpus_dir, index_dir, embedder=embedder)
            return _after_build(report)
        except QAError as exc:
            return _failed(exc)

    def stop() -> str:
        holder.cancel.set()
        return "Stopping after the documents being embedded now…"

    def refresh_sources():
        try:
            bot = holder.get()
        except QAError as exc:
            return render_error(exc), gr.skip(), gr.skip()
        docs = sorted(bot.index.manifest.documents)
        return describe(bot), source_rows(bot.index.manifest.sources()), gr.update(choices=docs)

    try:
        documents = sorted(holder.get().index.manifest.documents)
    except QAError:
        documents = []

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
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
            with gr.Row(elem_id="examples", visible=bool(examples)):
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
        with gr.Tab("Documents"):
            kinds = ", ".join(sorted(FORMATS))
            gr.Markdown(f"Add {kinds} files (at most {max_bytes() // (1024 * 1024)} MB each).")
            # No file_types filter: Gradio would drop other files silently; the app says why it refuses one.
            files = gr.File(label="Files to add", file_count="multiple", elem_id="upload")
            with gr.Row():
                add_button = gr.Button("Add to the index", variant="primary", elem_id="add")
                stop_button = gr.Button("Stop", variant="stop", elem_id="stop")
                rebuild_button = gr.Button("Re-scan the corpus folder", elem_id="rebuild")
            results = gr.Dataframe(headers=UPLOAD_COLUMNS, label="Added files", interactive=False, elem_id="results")
            sources_table = gr.Dataframe(
                value=sources, headers=SOURCE_COLUMNS, label="Sources", interactive=False, elem_id="sources"
            )
            with gr.Row():
                to_remove = gr.Dropdown(documents, label="Document to remove", scale=3, elem_id="to-remove")
                remove_button = gr.Button("Remove", variant="secondary", scale=1, elem_id="remove")

        triggers = [box.submit, send.click]
        gr.on(triggers, chat, [box, chatbot, quotes, threshold], [chatbot], api_name="chat")
        # the box empties as the question is sent (the chat already has its text), so a next question
        # typed while this one is answered is kept
        gr.on(triggers, lambda: "", None, [box], queue=False, api_visibility="private")
        for button in example_buttons:  # the button's label is the question
            button.click(chat, [button, chatbot, quotes, threshold], [chatbot], api_visibility="private")
        add_button.click(upload, [files], [status_line, results, sources_table, to_remove], api_name="add").then(
            lambda: None, None, [files], api_visibility="private"
        )
        remove_button.click(remove_document, [to_remove], [status_line, sources_table, to_remove], api_name="remove")
        rebuild_button.click(rebuild, None, [status_line, sources_table, to_remove], api_name="rebuild")
        stop_button.click(stop, None, [status_line], api_name="stop", concurrency_limit=None, queue=False)
        demo.load(refresh_sources, None, [status_line, sources_table, to_remove], api_visibility="private")
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ui.app", description=DESCRIPTION)
    parser.add_argument("--index", metavar="DIR", help="index folder (default: index/, or $QA_INDEX)")
    parser.add_argument("--corpus", metavar="DIR", help="corpus folder (default: the one the index names)")
    parser.add_argument("--model", help="embedding model name or path (default: $QA_MODEL or all-MiniLM-L6-v2)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only; 0.0.0.0 exposes the chat)",
    )
    parser.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    parser.add_argument(
        "--read-sentences", type=int, default=None, metavar="N", help="best sentences the span reader reads (default 2)"
    )
    parser.add_argument(
        "--no-translate", dest="translate", action="store_false", help="read a Chinese question only as it is"
    )
    args = parser.parse_args(argv)
    changed = {} if args.read_sentences is None else {"read_sentences": args.read_sentences}
    if not args.translate:
        changed["translate"] = False
    settings = AnswerSettings(**changed)  # a bad value stops the start with its message
    factory = default_qa
    if args.index or args.corpus or args.model or changed:

        def factory() -> QA:
            return QA.load(args.index, corpus=args.corpus, model=args.model, settings=settings)

    build_app(factory).launch(
        server_name=args.host,
        server_port=args.port,
        auth=auth_from_env(),
        max_file_size=max_bytes(),
        **launch_options(),
    )


def auth_from_env() -> tuple[str, str] | None:
    """`QA_AUTH=user:password` asks for a login (Gradio's auth); unset means none."""
    value = os.environ.get("QA_AUTH", "")
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise SystemExit("QA_AUTH must be user:password")
    return user, password


if __name__ == "__main__":
    main()
