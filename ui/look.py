"""How the chat looks: its theme (fonts), its CSS and the script that scrolls to each new reply.

Kept apart from ui/app.py (the wiring) so that the page's look changes in one place. Pass
`launch_options()` to `gr.Blocks.launch()`; Gradio 6 takes theme, CSS and head there.
"""

from __future__ import annotations

import gradio as gr

# Gradio's Source Sans Pro and IBM Plex Mono "SemiBold" files hold only a few letters (A, B and some Cyrillic):
# bold text took its capitals from them and the rest from another font. Regular and Bold are whole fonts.
THEME = gr.themes.Default(
    font=(gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"),
    font_mono=(gr.themes.LocalFont("IBM Plex Mono", weights=(400, 700)), "ui-monospace", "Consolas", "monospace"),
)
CSS = """
#chat .message-row.bot-row {width: calc(100% - var(--spacing-xl) * 6)}
#chat .bot-row .flex-wrap, #chat .bot-row .message {width: 100%; max-width: 100%}
#chat .bot .md p:first-child strong {font-size: 1.15em}
#chat .confidence {display: inline-block; padding: 0 .45em; border-radius: .6em; font-size: .8em; font-weight: 700;
  vertical-align: .1em; margin-left: .35em; cursor: help}
#chat .confidence.sure {background: #dcfce7; color: #166534}
#chat .confidence.likely {background: #fef3c7; color: #92400e}
#chat .confidence.not-sure {background: #fee2e2; color: #991b1b}
#chat small.score {color: var(--body-text-color-subdued); margin-left: .35em; cursor: help}
#chat .read-as {font-size: .85em; font-style: italic; opacity: .8; margin: .2em 0 .4em}
#chat blockquote.passage {margin: .4em 0 .2em; padding: .3em .8em; border-left: 3px solid #f59e0b;
  background: var(--background-fill-secondary)}
#chat blockquote.passage p {margin: .25em 0}
#chat blockquote.passage .heading {font-weight: 700}
#chat blockquote.passage table.quoted {font-size: .9em; margin: .3em 0; border-collapse: collapse}
#chat table.quoted th, #chat table.quoted td {border: 1px solid var(--border-color-primary); padding: .15em .5em}
#chat table.quoted th.context {color: var(--body-text-color-subdued); font-weight: 400}
#chat blockquote.passage pre {margin: .3em 0; padding: .4em .6em; font-size: .85em; white-space: pre-wrap}
#chat .cite, #chat details.source > summary {font-size: .85em; opacity: .75; margin: .1em 0}
#chat details.source > summary {cursor: pointer}
#chat details.source > summary:hover {text-decoration: underline}
#chat details.source > div {padding: .5em; margin: .3em 0; border-left: 3px solid #ccc; font-size: .9em}
#chat details.source strong {font-weight: 700}
#chat details.more {margin-top: .6em}
#chat details.more > summary {cursor: pointer; font-size: .9em; opacity: .8}
#chat mark {padding: 0 2px; background: #fde68a; color: inherit}
#build-row {align-items: center; gap: 1em; padding: .7em .9em; border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-lg); background: var(--background-fill-secondary)}
#build-row > #stop {flex: 0 0 auto; align-self: center}
#build-progress .build-line {margin-bottom: .45em}
#build-progress progress {display: block; width: 100%; height: .55em; appearance: none; border: none;
  border-radius: .3em; overflow: hidden; background: var(--border-color-primary)}
#build-progress progress::-webkit-progress-bar {background: var(--border-color-primary); border-radius: .3em}
#build-progress progress::-webkit-progress-value {background: var(--color-accent); border-radius: .3em}
#build-progress progress::-moz-progress-bar {background: var(--color-accent)}
#build-progress progress:indeterminate {background: repeating-linear-gradient(-45deg,
  var(--border-color-primary) 0 .6em, var(--color-accent-soft) .6em 1.2em); background-size: 1.7em 100%;
  animation: build-wait 1s linear infinite}
@keyframes build-wait {to {background-position: 1.7em 0}}
#build-progress .build.idle {color: var(--body-text-color-subdued)}
#build-progress .build.failed {color: #991b1b}
#confirm-remove, #undo {align-items: center; gap: .8em; padding: .6em .9em; border-radius: var(--radius-lg)}
#confirm-remove {border: 1px solid #fca5a5; background: #fef2f2}
#undo {border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary)}
#confirm-remove > button, #undo > button {flex: 0 0 auto; align-self: center}
#examples {flex-wrap: wrap; gap: .4em; align-items: center}
#examples .try {flex: 0 0 auto; min-width: 0}
#examples button.example {flex: 0 1 auto; min-width: 0; white-space: normal; text-align: left; font-weight: 400}
"""
# Gradio scrolls the chat to the end of each reply; this scrolls to its start instead (autoscroll is off):
# the question at the top when it fits with the start of the reply, else the reply.
HEAD = """<script>
(() => {
  let seen = -1;
  const place = () => {
    const log = document.querySelector('#chat [role=log]');
    if (!log) return;
    const replies = [...log.querySelectorAll('[data-testid=bot]')].filter((el) => el.querySelector('.score'));
    if (seen < 0 || replies.length < seen) seen = replies.length;
    if (replies.length === seen) return;
    seen = replies.length;
    const reply = replies[replies.length - 1].closest('.message-row') || replies[replies.length - 1];
    let question = reply.previousElementSibling;
    while (question && !question.querySelector('[data-testid=user]')) question = question.previousElementSibling;
    const top = (el) => el.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop;
    const start = top(reply);
    const from = question && start - top(question) < log.clientHeight / 3 ? top(question) : start;
    log.scrollTop = Math.max(from - 8, 0);
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; place(); });
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>"""


def launch_options() -> dict:
    """What `launch()` needs for the chat to look as designed: theme, CSS and the scrolling script."""
    return {"theme": THEME, "css": CSS, "head": HEAD}
