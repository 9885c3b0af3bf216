"""The chat's Documents tab: add files, re-scan the corpus folder, remove a document (after a confirmation),
restore one, and follow a build in one progress display with Stop beside it.

Each build (add, remove, restore, re-scan) runs in three steps in the page: `begin`
shows the display and enables Stop; the build itself (the API endpoint, the same
for `gradio_client`: `/add`, `/remove`, `/restore`, `/rebuild`) reports its
progress to the session's `ui.progress.BuildTracker`, which the page polls twice a
second while it runs; `end` shows the summary, disables Stop and refreshes the
example questions and the removed documents. Gradio's own progress bars are off on
every output, so the display is the only one.

Removing asks first, naming the document and its chunk count; right after a
removal, a "Restore" button for that document is offered.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from qa.api import add, build, remove, restore
from qa.errors import UploadError
from qa.index import read_manifest
from qa.ingest.documents import max_bytes
from qa.ingest.formats import FORMATS
from ui.live import FOLDER_LABELS, Changes
from ui.progress import IDLE, BuildTracker, plural, summary
from ui.render import SOURCE_COLUMNS, UPLOAD_COLUMNS, escape, source_rows, upload_rows
from ui.shared import SharedBot, describe, explain, totals

HIDDEN = {"show_progress": "hidden"}  # Gradio's progress on no output: the build's display is the one
PRIVATE = {"api_visibility": "private", **HIDDEN}
RESCAN = "Re-scan the corpus folder"


def session_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "anonymous"


def forget_uploads(paths: list[str]) -> None:
    """Delete Gradio's copies of uploaded files (only inside its upload folder): the corpus has its own now,
    and no /gradio_api/file= URL should serve a document after it is removed."""
    folder = Path(get_upload_folder()).resolve()
    for path in paths:
        file = Path(path).resolve()
        if folder in file.parents and file.is_file():
            file.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                file.parent.rmdir()  # Gradio keeps each upload in a folder of its own


def rescan_label(folder: Changes) -> dict:
    """The re-scan button, naming the files of the corpus folder not indexed yet."""
    if not folder:
        return gr.update(value=RESCAN, variant="secondary")
    return gr.update(value=f"{RESCAN} ({folder.counts(FOLDER_LABELS)})", variant="primary")


def _choice(choices: list, label: str, elem_id: str) -> gr.Dropdown:
    """A list to pick one document from, nothing picked at first (custom values: the handler checks the name)."""
    return gr.Dropdown(choices, value=None, label=label, scale=3, allow_custom_value=True, elem_id=elem_id)


class DocumentsTab:
    """The tab's components and handlers. `examples()` gives the example buttons' updates (`example_outputs`)."""

    def __init__(self, holder: SharedBot, status_line, examples: Callable[[], list], example_outputs: list) -> None:
        self.holder, self.status_line = holder, status_line
        self.examples, self.example_outputs = examples, example_outputs
        try:
            documents, restorable = holder.documents(), holder.removed()
            sources = source_rows(holder.get().index.manifest.sources())
        except Exception:  # no index yet: the status line says why
            documents, restorable, sources = [], [], []
        kinds = ", ".join(sorted(FORMATS))
        with gr.Tab("Documents") as self.tab:
            gr.Markdown(f"Add {kinds} files (at most {max_bytes() // (1024 * 1024)} MB each).")
            # No file_types filter: Gradio would drop other files silently; the app says why it refuses one.
            self.files = gr.File(label="Files to add", file_count="multiple", elem_id="upload")
            with gr.Row():
                self.add_button = gr.Button("Add to the index", variant="primary", elem_id="add")
                self.rebuild_button = gr.Button(RESCAN, elem_id="rebuild")
            with gr.Row(elem_id="build-row"):
                self.progress = gr.HTML(IDLE, elem_id="build-progress", js_on_load=None, scale=6)
                self.stop_button = gr.Button(
                    "Stop", variant="stop", interactive=False, scale=0, min_width=100, elem_id="stop"
                )
            self.ticker = gr.Timer(0.5, active=False)
            self.results = gr.Dataframe(
                headers=UPLOAD_COLUMNS, label="Added files", interactive=False, elem_id="results"
            )
            self.sources = gr.Dataframe(
                value=sources, headers=SOURCE_COLUMNS, label="Sources", interactive=False, elem_id="sources"
            )
            with gr.Row():
                # nothing chosen at first; custom values allowed: the list is refreshed after each build, and
                # the handler checks the name against the index on disk (a document another session added)
                self.to_remove = _choice(documents, "Document to remove", "to-remove")
                self.remove_button = gr.Button("Remove…", variant="secondary", scale=1, elem_id="remove")
            with gr.Row(visible=False, elem_id="confirm-remove", equal_height=True) as self.confirm:
                self.confirm_text = gr.Markdown(elem_id="confirm-text")
                self.confirm_yes = gr.Button("Remove", variant="stop", scale=0, min_width=180, elem_id="confirm-yes")
                self.confirm_no = gr.Button("Cancel", scale=0, min_width=100, elem_id="confirm-no")
            with gr.Row(visible=False, elem_id="undo", equal_height=True) as self.undo:
                self.undo_text = gr.Markdown(elem_id="undo-text")
                self.undo_button = gr.Button(
                    "Restore", variant="primary", scale=0, min_width=180, elem_id="undo-button"
                )
            self.undo_name = gr.State("")
            with gr.Row():
                self.to_restore = _choice(restorable, "Removed documents", "to-restore")
                self.restore_button = gr.Button("Restore", variant="secondary", scale=1, elem_id="restore")
        self.lists = [self.sources, self.to_remove]  # what each build changes (and the removed list, after it)
        self._wire()

    # --- the builds: each a QAError or a bug in words, never an exception -------------------------------
    def _build(self, request, doing: str, verb: str, run: Callable, note: Callable = lambda result: "") -> tuple:
        """Run `run(cancel, tracker) -> (result, report)` as the session's build, then load the new index.
        `doing` names it on the display ("Adding 3 files"), `verb` in an error ("could not add the files").

        Returns (status, sources, choices, result, report); the lists are skipped when nothing was built.
        """
        session = session_of(request)
        tracker = self.holder.track(session, doing)
        try:
            with self.holder.builds.running(session) as cancel:
                result, report = run(cancel, tracker)
            if report is None:
                tracker.finish(f"<strong>{escape(doing)}</strong> · nothing was added")
                return "Nothing was added.", gr.skip(), gr.skip(), result, None
            tracker.load()
            new, loaded = self.holder.reload()
            changes = Changes(report.added, report.changed, report.removed) | loaded  # the page's view too
            status = describe(new, "Indexed") + f" ({changes.counts() or 'no change'})" + note(result)
            tracker.finish(summary(doing, tracker.elapsed(), changes.counts(), totals(new), tracker.embedded()))
            self.holder.shown.put(session, self.holder.look(force=True))
            return status, source_rows(new.index.manifest.sources()), self._choices(), result, report
        except Exception as exc:
            message = explain(exc, verb)
            tracker.finish(message, ok=False)
            return message, gr.skip(), gr.skip(), None, None
        finally:
            self.holder.finished(tracker)

    def _choices(self) -> dict:
        return gr.update(choices=self.holder.documents(), value=None)

    def upload(self, files: list | None, request: gr.Request):
        """Copy the uploaded files into the corpus and index them; say what became of each."""
        if not files:
            return "⚠️ choose one or more files first", gr.skip(), gr.skip(), gr.skip()
        paths = [str(f) for f in files]  # Gradio keeps each upload under its own name in a temporary folder
        names = [os.path.basename(p) for p in paths]

        def run(cancel, tracker):
            if cancel.is_set():
                raise UploadError("stopped before anything was added")
            corpus_dir, index_dir, embedder = self.holder.paths()
            return add(paths, corpus_dir, index_dir, names=names, embedder=embedder, cancel=cancel, on_progress=tracker)

        try:
            doing = f"Adding {len(paths)} file{'s' if len(paths) != 1 else ''}"
            status, rows, choices, added, report = self._build(request, doing, "add the files", run)
            return status, upload_rows(added, report) if added is not None else gr.skip(), rows, choices
        finally:
            forget_uploads(paths)

    def rebuild(self, request: gr.Request):
        """Re-sync the index with its corpus folder (new and changed documents only), then load it."""

        def run(cancel, tracker):
            corpus_dir, index_dir, embedder = self.holder.paths()
            return None, build(corpus_dir, index_dir, embedder=embedder, cancel=cancel, on_progress=tracker)

        return self._build(request, "Re-scanning the corpus folder", "re-scan the corpus", run)[:3]

    def remove_document(self, name: str | None, request: gr.Request):
        """Take a document out of the corpus (kept in the index's removed/ folder) and out of the index."""
        if not name:
            return "⚠️ choose a document to remove", gr.skip(), gr.skip()

        def run(cancel, tracker):
            if name not in self.holder.documents():
                raise UploadError(f"no document named {name!r} in the index")
            chunks = self.holder.chunks_of(name)
            corpus_dir, index_dir, embedder = self.holder.paths()
            kept, report = remove([name], corpus_dir, index_dir, embedder=embedder, cancel=cancel, on_progress=tracker)
            tracker.removed = (kept[0].name, name, chunks or 0)
            return kept, report

        def note(kept) -> str:
            return f"; restore {escape(name)} from “Removed documents”"

        return self._build(request, f"Removing {name}", "remove the document", run, note)[:3]

    def restore_document(self, name: str | None, request: gr.Request):
        """Put a removed document back where it was (or beside it) and index it."""
        if not name:
            return "⚠️ choose a removed document to restore", gr.skip(), gr.skip()

        def run(cancel, tracker):
            corpus_dir, index_dir, embedder = self.holder.paths()
            return restore(name, corpus_dir, index_dir, embedder=embedder, cancel=cancel, on_progress=tracker)

        def note(done) -> str:
            back = done[0]
            where = f" as {escape(back.path)}" if back.path != back.original else ""
            return f"; restored {escape(back.original)}{where}"

        return self._build(request, f"Restoring {self.holder.original_of(name)}", "restore the document", run, note)[:3]

    # --- what the page shows around a build --------------------------------------------------------
    def begin(self, doing: str) -> Callable:
        """The step before a build: the display says it starts, Stop is enabled, the page polls."""

        def start(request: gr.Request):
            tracker = self.holder.track(session_of(request), doing)  # the build's own replaces it
            return tracker.html(), gr.update(interactive=True), gr.Timer(active=True)

        return start

    def tick(self, request: gr.Request):
        """The display now, and Stop enabled while a build of this session runs."""
        session = session_of(request)
        tracker = self.holder.trackers.get(session)
        running = self.holder.builds.running_in(session)
        return tracker.html() if tracker else IDLE, gr.update(interactive=running)

    def end(self, request: gr.Request):
        """The step after a build: its summary, Stop disabled, new example questions, the removed list, and
        "Restore" for the document just removed."""
        session = session_of(request)
        tracker: BuildTracker | None = self.holder.trackers.get(session)
        running = self.holder.builds.running_in(session)
        shown = (tracker.html() if tracker else IDLE, gr.update(interactive=running), gr.Timer(active=running))
        removed = tracker.removed if tracker and tracker.done and tracker.ok else None
        if removed:
            name, path, chunks = removed
            text = f"Removed **{escape(path)}** ({plural(chunks, 'chunk')}): kept in the index's removed/ folder."
            undo = (gr.update(visible=True), text, gr.update(value=f"Restore {path}"), name)
        else:
            undo = (gr.update(visible=False), gr.skip(), gr.skip(), "")
        try:
            restorable = gr.update(choices=self.holder.removed(), value=None)
            rescan = rescan_label(self.holder.look().folder)
            examples = self.examples()
        except Exception as exc:
            explain(exc, "refresh the lists")
            restorable, rescan, examples = gr.skip(), gr.skip(), [gr.skip()] * len(self.example_outputs)
        return *shown, *undo, restorable, rescan, *examples

    def confirm_removal(self, name: str | None):
        """Ask before removing: the document's name and chunk count, or why it cannot be removed."""
        if not name:
            return gr.update(visible=True), "⚠️ choose a document to remove first.", gr.update(visible=False)
        chunks = self.holder.chunks_of(name)
        if chunks is None:
            return (
                gr.update(visible=True),
                f"⚠️ the index has no document named **{escape(name)}**.",
                gr.update(visible=False),
            )
        text = (
            f"Remove **{escape(name)}** ({plural(chunks, 'chunk')}) from the index? "
            "It is moved to the index's removed/ folder and can be restored."
        )
        return gr.update(visible=True), text, gr.update(visible=True, value=f"Remove {name}")

    def refresh(self):
        """The status line and the tab's lists as the index on disk has them (another session may have built)."""
        try:
            bot = self.holder.get()
            sources = source_rows(read_manifest(bot.index.path).sources())
            restorable = gr.update(choices=self.holder.removed(), value=None)
            return describe(bot), sources, self._choices(), restorable
        except Exception as exc:
            return explain(exc, "list the documents"), gr.skip(), gr.skip(), gr.skip()

    def stop(self, request: gr.Request) -> str:
        return self.holder.builds.stop(session_of(request))

    # --- the events ----------------------------------------------------------------------------------
    def _chain(self, trigger, doing: str, fn, inputs, outputs, api_name: str | None):
        """begin -> the build (the API endpoint `api_name`; private without) -> end."""
        around = [self.progress, self.stop_button, self.ticker]
        after = [
            *around,
            self.undo,
            self.undo_text,
            self.undo_button,
            self.undo_name,
            self.to_restore,
            self.rebuild_button,
        ]
        started = trigger(self.begin(doing), None, around, queue=False, **PRIVATE)
        api = {"api_name": api_name, **HIDDEN} if api_name else PRIVATE
        built = started.then(fn, inputs, outputs, **api)
        built.then(self.end, None, [*after, *self.example_outputs], **PRIVATE)
        return built

    def _wire(self) -> None:
        status, lists = self.status_line, self.lists
        hide = lambda: gr.update(visible=False)  # noqa: E731
        added = self._chain(
            self.add_button.click, "Adding files", self.upload, [self.files], [status, self.results, *lists], "add"
        )
        added.then(lambda: None, None, [self.files], **PRIVATE)
        self._chain(
            self.rebuild_button.click, "Re-scanning the corpus folder", self.rebuild, None, [status, *lists], "rebuild"
        )
        self.remove_button.click(
            self.confirm_removal,
            [self.to_remove],
            [self.confirm, self.confirm_text, self.confirm_yes],
            queue=False,
            **PRIVATE,
        )
        self.confirm_no.click(hide, None, [self.confirm], queue=False, **PRIVATE)
        self.to_remove.change(hide, None, [self.confirm], queue=False, **PRIVATE)
        yes = self.confirm_yes.click(hide, None, [self.confirm], queue=False, **PRIVATE)
        self._chain(yes.then, "Removing a document", self.remove_document, [self.to_remove], [status, *lists], "remove")
        self._chain(
            self.restore_button.click,
            "Restoring a document",
            self.restore_document,
            [self.to_restore],
            [status, *lists],
            "restore",
        )
        self._chain(
            self.undo_button.click,
            "Restoring a document",
            self.restore_document,
            [self.undo_name],
            [status, *lists],
            None,
        )
        self.stop_button.click(self.stop, None, [status], api_name="stop", concurrency_limit=None, queue=False)
        self.ticker.tick(self.tick, None, [self.progress, self.stop_button], queue=False, **PRIVATE)
        self.tab.select(self.refresh, None, [status, *lists, self.to_restore], **PRIVATE)
