"""The chat UI: a thin Gradio layer over `qa.api`. Formatting lives in `ui.render`.

    python -m ui.app [--index DIR] [--corpus DIR] [--host 127.0.0.1] [--port 7860]

API endpoints, for `gradio_client.Client("http://127.0.0.1:7860/")`:

    history = client.predict("Which company launched Pangu Chat?", [], api_name="/chat")
    # in:  message (str), history (list of {"role": "user"|"assistant", "content": ...} dicts; [] to start)
    # out: the history with the question and the reply appended. Gradio 6 sends each content as a
    #      list of parts, [{"type": "text", "text": "..."}]; the reply (Markdown) is
    #      history[-1]["content"][0]["text"]. Pass the history back to ask a follow-up.
    #      A bad question (empty, too long) gets an assistant message starting "⚠️ ", never an exception.
    status = client.predict(api_name="/rebuild")
    # in: nothing; out: "Indexed N documents, M chunks · model … · built …", or "⚠️ <why not>"
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Callable

import gradio as gr

from qa.api import QA, build, corpus_of, default_qa, reset_default
from qa.errors import QAError
from qa.threads import pin_threads
from ui.render import escape, example_questions, render_answer, render_error

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
log = logging.getLogger(__name__)

TITLE = "Ask your documents"
DESCRIPTION = "Answers are quotes from your documents, each with the file, paragraph and line it comes from."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe(bot: QA, verb: str = "Index:") -> str:
    """The status line: what the loaded index holds."""
    m = bot.index.manifest
    counts = f"{_plural(m.counts.get('documents', len(m.documents)), 'document')}, "
    counts += _plural(m.counts.get("chunks", len(bot.index.chunks)), "chunk")
    return f"{verb} {counts} · model {escape(m.model)} · built {escape(m.built_at)}"


class _Bot:
    """The loaded QA, shared by all sessions; swapped whole by a rebuild."""

    def __init__(self, factory: Callable[[], QA]) -> None:
        self.factory, self.bot, self.lock = factory, None, threading.Lock()

    def get(self) -> QA:
        with self.lock:
            if self.bot is None:
                self.bot = self.factory()
                pin_threads(1)  # one thread answers a query many times faster than two fighting
            return self.bot


def build_app(bot_factory: Callable[[], QA] = default_qa) -> gr.Blocks:
    holder = _Bot(bot_factory)
    try:
        bot = holder.get()
        status, examples = describe(bot), example_questions(bot)
    except QAError as exc:
        status, examples = render_error(exc), []

    def chat(message: str, history: list | None) -> list[dict]:
        """Answer `message` given the earlier turns; return the history with both turns appended."""
        history = list(history or [])
        try:
            reply = render_answer(holder.get().answer(message, history))
        except QAError as exc:
            reply = render_error(exc)
        except Exception as exc:  # a bug: say so in the chat, keep the app up
            log.exception("could not answer %r", message)
            reply = render_error(RuntimeError(f"could not answer ({type(exc).__name__}); see the server log"))
        asked = [{"role": "user", "content": escape(message)}] if message and message.strip() else []
        return [*history, *asked, {"role": "assistant", "content": reply}]

    def rebuild(progress=gr.Progress(track_tqdm=True)) -> str:  # noqa: B008 (Gradio's idiom)
        """Re-index the corpus the current index was built from, then load the new index."""
        try:
            old = holder.get()
            index_dir = old.index.path
            corpus_dir = corpus_of(old.index.manifest, index_dir)
            progress(0, desc="Indexing documents")
            build(corpus_dir, index_dir, embedder=old.embedder, progress=True)
            new = QA.load(index_dir, corpus=corpus_dir, embedder=old.embedder, on_stale="error")
        except QAError as exc:
            return render_error(exc)
        with holder.lock:
            holder.bot = new
        if holder.factory is default_qa:
            reset_default()  # the cached default still holds the old index
        return describe(new, verb="Indexed")

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\n{DESCRIPTION}")
        chatbot = gr.Chatbot(label="Answers", height=520, latex_delimiters=[], allow_tags=False, buttons=["copy"])
        with gr.Row():
            box = gr.Textbox(placeholder="Ask a question about the documents", show_label=False, scale=6)
            send = gr.Button("Ask", variant="primary", scale=1)
        if examples:
            gr.Examples([[q] for q in examples], inputs=[box], label="Try")
        with gr.Row():
            status_line = gr.Markdown(status)
            rebuild_button = gr.Button("Rebuild index", size="sm", scale=0)
        gr.on([box.submit, send.click], chat, [box, chatbot], [chatbot], api_name="chat").then(
            lambda: "", None, [box], api_visibility="private"
        )
        rebuild_button.click(rebuild, None, [status_line], api_name="rebuild")
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
    args = parser.parse_args(argv)
    factory = default_qa
    if args.index or args.corpus or args.model:

        def factory() -> QA:
            return QA.load(args.index, corpus=args.corpus, model=args.model)

    build_app(factory).launch(server_name=args.host, server_port=args.port, auth=auth_from_env())


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
