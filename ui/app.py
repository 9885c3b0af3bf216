"""The chat UI: a thin Gradio layer over `qa.api`. Formatting lives in `ui.render`.

    python -m ui.app [options of `qa serve`]      (or `ui.serve.serve(...)` from Python)

Two tabs: **Chat** (questions, answers with their quotes; each citation opens
the passage in its document; settings for the number of quotes and the
confidence needed) and **Documents** (add files, see each one's status, remove
one or restore one removed, stop a long build).

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

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from qa.api import (
    QA,
    add,
    build,
    corpus_of,
    default_qa,
    describe_changes,
    open_index,
    remove,
    removed,
    reset_default,
    restore,
)
from qa.errors import QAError, UploadError
from qa.index import read_manifest
from qa.ingest.documents import max_bytes
from qa.ingest.formats import FORMATS
from qa.settings import AnswerSettings
from qa.threads import pin_threads
from ui.builds import Builds
from ui.examples import example_questions
from ui.guard import Guard, Limits, check_history
from ui.look import launch_options  # noqa: F401 (callers take the launch options from here)
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
UPLOAD_CACHE = (600, 3600)  # Gradio's delete_cache: every 10 minutes, uploads older than an hour are deleted


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe(bot: QA, verb: str = "Index:") -> str:
    """The status line: what the loaded index holds."""
    m = bot.index.manifest
    counts = f"{_plural(m.counts.get('documents', len(m.documents)), 'document')}, "
    counts += _plural(m.counts.get("chunks", len(bot.index.chunks)), "chunk")
    return f"{verb} {counts} · model {escape(m.model)} · built {escape(m.built_at)}"


def explain(exc: Exception, doing: str) -> str:
    """A handler's message for an error: a QAError in its own words, anything else as a bug to look up."""
    if isinstance(exc, QAError):
        return render_error(exc)
    log.exception("could not %s", doing)
    return render_error(RuntimeError(f"could not {doing} ({type(exc).__name__}); see the server log"))


class _Bot:
    """The loaded QA, shared by all sessions; swapped whole after a build. `builds` holds each session's Stop."""

    def __init__(self, factory: Callable[[], QA]) -> None:
        self.factory, self.bot, self.lock = factory, None, threading.Lock()
        self.reloading = threading.Lock()
        self.builds = Builds()

    def get(self) -> QA:
        with self.lock:
            if self.bot is None:
                self.bot = self.factory()
                pin_threads(1)  # one thread answers a query many times faster than two fighting
            return self.bot

    def reload(self) -> QA:
        """Load the index as the last build left it; answers in flight finish on the old one.

        Not checked against the corpus: another build may have changed the corpus since, and its own
        reload brings that in. One reload at a time, so the newest index on disk is the one kept.
        """
        with self.reloading:
            old = self.get()
            index = open_index(old.index.path)  # FAISS files, or the Milvus store the manifest names
            new = QA(index, old.embedder, old.settings, old.calibration, old.reader, old.ranker, old.glossary)
            with self.lock:
                self.bot = new
        if self.factory is default_qa:
            reset_default()  # the cached default still holds the old index
        return new

    def paths(self):
        bot = self.get()
        return corpus_of(bot.index.manifest, bot.index.path), bot.index.path, bot.embedder

    def documents(self) -> list[str]:
        """The documents the index on disk has now (another session may have added some)."""
        bot = self.get()
        return sorted(read_manifest(bot.index.path).seen())

    def removed(self) -> list[tuple[str, str]]:
        """The removed documents that can be restored, as (label, name) choices, newest first."""
        entries = removed(self.get().index.path)
        return [(f"{e.path} · removed {e.removed_at[:19].replace('T', ' ')}", e.name) for e in entries]


def _forget_uploads(paths: list[str]) -> None:
    """Delete Gradio's copies of uploaded files (only inside its upload folder): the corpus has its own now,
    and no /gradio_api/file= URL should serve a document after it is removed."""
    folder = Path(get_upload_folder()).resolve()
    for path in paths:
        file = Path(path).resolve()
        if folder in file.parents and file.is_file():
            file.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                file.parent.rmdir()  # Gradio keeps each upload in a folder of its own


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "anonymous"


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


def build_app(
    bot_factory: Callable[[], QA] = default_qa,
    *,
    limits: Limits | None = None,
    delete_cache: tuple[int, int] = UPLOAD_CACHE,
) -> gr.Blocks:
    """The chat app. `limits` bounds what one client may ask (`ui.guard`); `delete_cache` is Gradio's
    (every `frequency` seconds, uploaded files older than `age` seconds are deleted)."""
    holder = _Bot(bot_factory)
    limits = limits or Limits()
    try:
        bot = holder.get()
        status, sources = describe(bot), source_rows(bot.index.manifest.sources())
        examples = example_questions(bot, EXAMPLES)
        documents, restorable = holder.documents(), holder.removed()
    except QAError as exc:
        status, examples, sources, documents, restorable = render_error(exc), [], [], [], []
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

    def _after_build(report, note: str = "") -> tuple:
        new = holder.reload()
        rows = source_rows(new.index.manifest.sources())
        changes = describe_changes(report)
        status = describe(new, verb="Indexed") + f" ({changes or 'no change'})" + note
        return status, rows, _choices()

    def _choices() -> dict:
        return gr.update(choices=holder.documents(), value=None)

    def _restorable() -> dict:
        try:
            return gr.update(choices=holder.removed(), value=None)
        except Exception as exc:
            explain(exc, "list the removed documents")
            return gr.skip()

    def _failed(exc: Exception, doing: str) -> tuple:
        return explain(exc, doing), gr.skip(), gr.skip()

    def rebuild(request: gr.Request, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's idiom)
        """Re-sync the index with its corpus folder (new and changed documents only), then load it."""
        try:
            with holder.builds.running(_session(request)) as cancel:
                corpus_dir, index_dir, embedder = holder.paths()
                progress(0, desc="Indexing documents")
                report = build(corpus_dir, index_dir, embedder=embedder, progress=True, cancel=cancel)
            return _after_build(report)
        except Exception as exc:
            return _failed(exc, "re-scan the corpus")

    def upload(files: list | None, request: gr.Request, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        """Copy the uploaded files into the corpus and index them; say what became of each."""
        if not files:
            return "⚠️ choose one or more files first", gr.skip(), gr.skip(), gr.skip()
        paths = [str(f) for f in files]  # Gradio keeps each upload under its own name in a temporary folder
        names = [os.path.basename(p) for p in paths]
        try:
            with holder.builds.running(_session(request)) as cancel:
                if cancel.is_set():
                    return "⚠️ stopped before anything was added", gr.skip(), gr.skip(), gr.skip()
                corpus_dir, index_dir, embedder = holder.paths()
                progress(0, desc="Indexing new documents")
                added, report = add(
                    paths, corpus_dir, index_dir, names=names, embedder=embedder, progress=True, cancel=cancel
                )
            results = upload_rows(added, report)
            if report is None:
                return "Nothing was added.", results, gr.skip(), gr.skip()
            status, rows, choices = _after_build(report)
            return status, results, rows, choices
        except Exception as exc:
            return explain(exc, "add the files"), gr.skip(), gr.skip(), gr.skip()
        finally:
            _forget_uploads(paths)

    def remove_document(name: str | None, request: gr.Request):
        """Take a document out of the corpus (kept in the index's removed/ folder) and out of the index."""
        if not name:
            return "⚠️ choose a document to remove", gr.skip(), gr.skip()
        try:
            if name not in holder.documents():
                raise UploadError(f"no document named {name!r} in the index")
            with holder.builds.running(_session(request)) as cancel:
                corpus_dir, index_dir, embedder = holder.paths()
                _, report = remove([name], corpus_dir, index_dir, embedder=embedder, cancel=cancel)
            return _after_build(report, f"; restore {escape(name)} from “Removed documents”")
        except Exception as exc:
            return _failed(exc, "remove the document")

    def restore_document(name: str | None, request: gr.Request):
        """Put a removed document back where it was (or beside it) and index it."""
        if not name:
            return "⚠️ choose a removed document to restore", gr.skip(), gr.skip()
        try:
            with holder.builds.running(_session(request)) as cancel:
                corpus_dir, index_dir, embedder = holder.paths()
                (back,), report = restore(name, corpus_dir, index_dir, embedder=embedder, cancel=cancel)
            where = f" as {escape(back.path)}" if back.path != back.original else ""
            return _after_build(report, f"; restored {escape(back.original)}{where}")
        except Exception as exc:
            return _failed(exc, "restore the document")

    def stop(request: gr.Request) -> str:
        return holder.builds.stop(_session(request))

    def refresh_sources():
        try:
            bot = holder.get()
            sources = source_rows(read_manifest(bot.index.path).sources())
            return describe(bot), sources, _choices(), _restorable()
        except Exception as exc:
            return explain(exc, "list the documents"), gr.skip(), gr.skip(), gr.skip()

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
        with gr.Tab("Documents") as documents_tab:
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
                # custom values allowed: the list is refreshed after each build, and the handler checks the
                # name against the index on disk, so a document another session added can be removed too
                to_remove = gr.Dropdown(
                    documents, label="Document to remove", scale=3, allow_custom_value=True, elem_id="to-remove"
                )
                remove_button = gr.Button("Remove", variant="secondary", scale=1, elem_id="remove")
            with gr.Row():
                to_restore = gr.Dropdown(
                    restorable, label="Removed documents", scale=3, allow_custom_value=True, elem_id="to-restore"
                )
                restore_button = gr.Button("Restore", variant="secondary", scale=1, elem_id="restore")
        lists = [sources_table, to_remove]  # what each build changes (and the removed list, after it)

        triggers = [box.submit, send.click]
        gr.on(triggers, chat, [box, chatbot, quotes, threshold], [chatbot], api_name="chat")
        # the box empties as the question is sent (the chat already has its text), so a next question
        # typed while this one is answered is kept
        gr.on(triggers, lambda: "", None, [box], queue=False, api_visibility="private")
        for button in example_buttons:  # the button's label is the question
            button.click(chat, [button, chatbot, quotes, threshold], [chatbot], api_visibility="private")
        added = add_button.click(upload, [files], [status_line, results, *lists], api_name="add")
        added.then(lambda: None, None, [files], api_visibility="private")
        for event in (
            added,
            remove_button.click(remove_document, [to_remove], [status_line, *lists], api_name="remove"),
            restore_button.click(restore_document, [to_restore], [status_line, *lists], api_name="restore"),
            rebuild_button.click(rebuild, None, [status_line, *lists], api_name="rebuild"),
        ):
            event.then(_restorable, None, [to_restore], api_visibility="private")
        stop_button.click(stop, None, [status_line], api_name="stop", concurrency_limit=None, queue=False)
        documents_tab.select(refresh_sources, None, [status_line, *lists, to_restore], api_visibility="private")
        demo.load(refresh_sources, None, [status_line, *lists, to_restore], api_visibility="private")
    return demo


def main(argv: list[str] | None = None) -> int:
    """`python -m ui.app [options]`: the same options as `qa serve`, read by the same parser."""
    from qa.cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
