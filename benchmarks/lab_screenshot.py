"""What a student sees in JupyterLab: run a notebook there and photograph its rendered answer.

    python benchmarks/lab_screenshot.py [--notebook 01_default_training.ipynb] [--out docs/lab_41.png]

Starts JupyterLab (this venv, the "charlm" kernel of ``make kernel``, jupyterlab-myst) on a
free local port with no browser, opens the notebook in headless Chromium (Debian's
``/usr/bin/chromium``, driven by playwright), runs all its cells, waits for the kernel to be
idle, and saves a screenshot of the first markdown cell holding an ``{eval}`` role (the answer):
with jupyterlab-myst the values show in the prose, not the roles' source. It also prints that
cell's rendered text and exits 1 if a role's source (``{eval}``) is still visible in it.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--notebook", default="01_default_training.ipynb")
    p.add_argument("--out", default=str(ROOT / "docs" / "lab_41.png"))
    p.add_argument("--wait", type=float, default=600, help="seconds to wait for the run")
    args = p.parse_args(argv)
    port = free_port()
    lab = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "jupyter"), "lab", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
         f"--notebook-dir={ROOT / 'notebooks'}", "--allow-root", "--LabApp.expose_app_in_browser=True"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ | {"CHARLM_PROGRESS": "0"})
    try:
        time.sleep(8)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/lab/tree/{args.notebook}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_timeout(5000)  # the kernel starts
            # run every cell; the promise resolves when the last one has run
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')"
                          ".then(() => { window.charlmDone = true; })")
            page.wait_for_function("window.charlmDone === true", timeout=int(args.wait * 1000))
            page.wait_for_timeout(3000)  # the last markdown cells receive their values
            page.evaluate("document.querySelectorAll('.jp-toast-container, .Toastify')"
                          ".forEach(e => e.remove())")  # the news prompt, over the cells
            index = page.evaluate("""() => {
                const nb = window.jupyterapp.shell.currentWidget.content;
                const i = nb.widgets.findIndex(c => c.model.type === 'markdown'
                                               && c.model.sharedModel.getSource().includes('**Answer'));
                nb.activeCellIndex = i; nb.scrollToItem(i, 'start'); return i; }""")
            page.wait_for_timeout(2000)
            answer = page.locator(".jp-Cell.jp-mod-active")
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            answer.screenshot(path=args.out)
            text = answer.inner_text()
            print(f"cell {index + 1}:\n{text}")
            print(f"screenshot: {args.out}")
            browser.close()
            return 1 if "{eval}" in text or "." not in text else 0
    finally:
        lab.terminate()
        lab.wait(30)


if __name__ == "__main__":
    sys.exit(main())
