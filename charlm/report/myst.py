"""Computed values inside the prose: MyST's inline role ``{eval}``.

A markdown cell says ``the model scores **{eval}`a.test_bpc`** bits per character``; the value
is computed by the code cells above it. Three readers see the same value:

- **JupyterLab** with jupyterlab-myst (``make lab``) evaluates each role in the running kernel
  when the cell is rendered and keeps the result in the cell's metadata under
  ``user_expressions``: a list of ``{"expression": ..., "result": ...}``, each result the
  kernel's reply (``{"status": "ok", "data": {mime: text}, "metadata": {}}`` or an error).
- **The build** (:class:`MystEngine`, a papermill engine registered as ``charlm``) does the
  same while papermill executes the notebook: on reaching a markdown cell it sends the kernel
  an empty ``execute`` request whose ``user_expressions`` are the cell's roles, and stores the
  reply in the same metadata. So each value is the one at that point of the notebook, and an
  executed notebook opened in JupyterLab shows the values.
- **The HTML report** (:func:`render_expressions`, called by :mod:`charlm.report.assemble`)
  puts each stored value in place of its role before the markdown is rendered: a
  ``text/markdown`` value as markdown, ``text/html`` as HTML, ``text/plain`` as text with the
  quotes of a string's repr taken off, as jupyterlab-myst shows it.

An expression that raises fails the build like a failing cell, naming the notebook, the cell
and the expression.
"""

from __future__ import annotations

import html
import re
from typing import Any

from nbclient.util import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines, remove_args

from .errors import first_line

ENGINE = "charlm"
METADATA = "user_expressions"
# {eval}`expr` or {eval}``expr with ` inside``; not inside inline code (`{eval}`)
_ROLE = re.compile(r"(?<!`)\{eval\}(`+)(.+?)\1(?!`)", re.DOTALL)
_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.DOTALL | re.MULTILINE)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$])")


def expressions(source: str) -> list[str]:
    """The expressions of the ``{eval}`` roles of a markdown cell, in order, each once
    (fenced code blocks left out)."""
    return list(dict.fromkeys(m.group(2).strip() for m in _ROLE.finditer(_FENCE.sub("", source))))


class ExpressionError(Exception):
    """An ``{eval}`` expression raised, or gave no value. Not a ``CellExecutionError``:
    papermill's handling of those expects a code cell; this one stops the execution as it is."""

    def __init__(self, cell_index: int, expression: str, ename: str, evalue: str) -> None:
        self.cell_index, self.expression = cell_index, expression
        super().__init__(f"markdown cell {cell_index + 1}: {{eval}}`{expression}` raised "
                         f"{ename}: {first_line(evalue)}")


class MystClient(PapermillNotebookClient):
    """papermill's notebook client, which also evaluates the ``{eval}`` roles of each markdown
    cell when execution reaches it."""

    async def async_execute_cell(self, cell, cell_index: int, execution_count: int | None = None,
                                 store_history: bool = True):
        if cell.cell_type != "markdown":
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        exprs = expressions(cell.source)
        cell.metadata.pop(METADATA, None)
        if exprs:
            cell.metadata[METADATA] = await self._evaluate(cell, cell_index, exprs)
        return cell

    # nbclient binds execute_cell = run_sync(async_execute_cell) in its class body: without
    # binding it again here the override above would never be called
    execute_cell = run_sync(async_execute_cell)

    async def _evaluate(self, cell, cell_index: int, exprs: list[str]) -> list[dict[str, Any]]:
        assert self.kc is not None
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={str(i): e for i, e in enumerate(exprs)})
        reply = await self.async_wait_for_reply(msg_id, cell)
        found = (reply or {}).get("content", {}).get("user_expressions", {})
        out = [{"expression": e, "result": found.get(str(i)) or {
                    "status": "error", "ename": "no value", "evalue": "the kernel returned nothing",
                    "traceback": []}} for i, e in enumerate(exprs)]
        failed = next((item for item in out if item["result"].get("status") != "ok"), None)
        if failed:  # kept in the cell (JupyterLab shows it inline too), then the build stops
            cell.metadata[METADATA] = out
            r = failed["result"]
            raise ExpressionError(cell_index, failed["expression"], r.get("ename", "?"),
                                  str(r.get("evalue", "")))
        return out


class MystEngine(NBClientEngine):
    """papermill's nbclient engine with :class:`MystClient` (``engine_name="charlm"``)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None,
                                 **kwargs):
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        return MystClient(nb_man, timeout=execution_timeout, startup_timeout=start_timeout,
                          kernel_name=kernel_name, log_output=log_output, stdout_file=stdout_file,
                          stderr_file=stderr_file, **kwargs).execute()


papermill_engines.register(ENGINE, MystEngine)


def shown(result: dict[str, Any]) -> str:
    """Markdown for one stored result: ``text/markdown`` as it is, ``text/html`` as inline
    HTML, ``text/plain`` as text (a string's quotes taken off, as jupyterlab-myst does)."""
    data = result.get("data", {})
    if "text/markdown" in data:
        return "".join(data["text/markdown"]).strip()
    if "text/html" in data:
        return "".join(data["text/html"]).strip()
    text = "".join(data.get("text/plain", ""))
    text = re.sub(r"""^(["'])(.*)\1$""", r"\2", text, flags=re.DOTALL)
    return _MD_SPECIAL.sub(r"\\\1", html.unescape(text))


def render_expressions(source: str, stored: list[dict[str, Any]] | None, where: str) -> str:
    """``source`` with each ``{eval}`` role replaced by its stored value (:func:`shown`).

    A role whose value was not stored (the notebook was not executed by the build's engine, or
    was edited since) is a ``ValueError`` naming ``where`` and the expression."""
    values = {item["expression"]: item["result"] for item in stored or []}
    fences = [(m.start(), m.end()) for m in _FENCE.finditer(source)]

    def value(m: re.Match) -> str:
        if any(a <= m.start() < b for a, b in fences):  # a role inside fenced code is code
            return m.group(0)
        expr = m.group(2).strip()
        if expr not in values:
            raise ValueError(f"{where}: {{eval}}`{expr}` has no stored value; execute the "
                             f"notebook again (make report)")
        return shown(values[expr])
    return _ROLE.sub(value, source)


__all__ = ["ENGINE", "METADATA", "ExpressionError", "MystClient", "MystEngine", "expressions",
           "render_expressions", "shown"]
