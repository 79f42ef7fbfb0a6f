"""Drive JupyterLab in headless Chromium for the end-to-end tests.

Two halves:

- :func:`jupyter_lab` starts a throw-away JupyterLab server (free loopback
  port, random token, every Jupyter/IPython/matplotlib directory in a
  temporary folder so nothing leaks in from ``~``) and stops it by the PID it
  started, whatever happens.
- :class:`LabPage` wraps a Playwright page showing one notebook: open it,
  wait for a real idle kernel, run all cells, collect error outputs, take
  screenshots.

Nothing here knows about gmm_lab; the tests supply notebooks and selectors.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:  # playwright is optional: the tests skip without it.
    from playwright.sync_api import Browser, Locator, Page

#: Debian's chromium package; Playwright's own browser download cannot work
#: on the machines this runs on.
CHROMIUM = "/usr/bin/chromium"

#: Flags Chromium needs as root, without GPU, display or network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

#: FNV-1a hash of a canvas' pixels, computed in the page: a frame changed
#: when its hash did.
CANVAS_HASH_JS = """
(canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let hash = 0x811c9dc5;
    for (let i = 0; i < data.length; i++) { hash ^= data[i]; hash = Math.imul(hash, 0x01000193); }
    return (hash >>> 0).toString(16);
}
"""

#: JupyterLab user settings written into the temporary settings directory.
#: ``fetchNews: "false"`` stops the "receive official Jupyter news?" toast,
#: which would otherwise cover the notebook in screenshots (and would try the
#: network). Overrides (``overrides.json``) are only read from the app settings
#: dir inside the environment, which a test must not write to; user settings
#: in a temporary ``JUPYTERLAB_SETTINGS_DIR`` have the same effect.
LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now.

    Returns
    -------
    int
        The port number. Another process may still grab it before the server
        binds it; :func:`jupyter_lab` retries on that race.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class JupyterServer:
    """A running JupyterLab server started by :func:`jupyter_lab`.

    Attributes
    ----------
    process : subprocess.Popen
        The server process (leader of its own process group).
    port : int
        The loopback port it listens on.
    token : str
        The random token that authenticates requests.
    root_dir : pathlib.Path
        The directory the server serves (a temporary copy).
    log_path : pathlib.Path
        File receiving the server's stdout and stderr.
    """

    process: subprocess.Popen
    port: int
    token: str
    root_dir: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        """The server's root URL, without token."""
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        """URL that opens notebook `name` (relative to the root dir) in Lab.

        ``reset`` starts from an empty workspace, so no notebook from an
        earlier session reopens in a hidden tab; the token in the query
        string logs the browser in (the server then sets a cookie).
        """
        return f"{self.base_url}/lab/tree/{quote(name)}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5.0):
        """Call ``/api/<path>`` with the token; return the decoded JSON
        (``None`` for an empty reply, as after DELETE)."""
        request = urllib.request.Request(
            f"{self.base_url}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """End all sessions and kernels, so the next test that opens a
        notebook gets a fresh kernel instead of the previous test's state."""
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE", timeout=30)
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE", timeout=30)

    def log_tail(self, n_chars: int = 4000) -> str:
        """The end of the server log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return "<no server log>"


def isolated_env(home: Path) -> dict[str, str]:
    """Environment for the server: all per-user state under `home`.

    Parameters
    ----------
    home : pathlib.Path
        An empty temporary directory.

    Returns
    -------
    dict
        A copy of ``os.environ`` where Jupyter's config, data, runtime,
        settings and workspace dirs, IPython's profile dir and matplotlib's
        config dir point into `home`, so that a user's ``~/.jupyter`` or
        ``matplotlibrc`` can neither change nor be changed by the test.
    """
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "jupyter_config",
        "JUPYTER_DATA_DIR": home / "jupyter_data",
        "JUPYTER_RUNTIME_DIR": home / "jupyter_runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / "lab_user_settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "lab_workspaces",
        "IPYTHONDIR": home / "ipython",
        "MPLCONFIGDIR": home / "matplotlib",
    }
    env = dict(os.environ)
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    # Values from the caller's environment that would change what the kernel
    # or the server does.
    for name in ("JUPYTER_TOKEN", "JUPYTER_PATH", "JUPYTER_PREFER_ENV_PATH", "MPLBACKEND"):
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"  # server log lines arrive in order
    return env


def write_lab_user_settings(settings_dir: Path, settings: dict = LAB_USER_SETTINGS) -> None:
    """Write JupyterLab user settings files (``<plugin>.jupyterlab-settings``).

    Parameters
    ----------
    settings_dir : pathlib.Path
        The user settings directory given to the server.
    settings : dict
        Maps ``"<package>/<plugin>.jupyterlab-settings"`` to its settings.
    """
    for relative, values in settings.items():
        path = settings_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


def _lab_command(python: str, port: int, token: str, root_dir: Path, env: dict) -> list[str]:
    """The command line of the server (jupyter_server 2.x option names)."""
    command = [
        python, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        # Without this a busy port silently moves the server elsewhere.
        "--ServerApp.port_retries=0",
        # jupyter_server 2 moved the token from ServerApp to IdentityProvider.
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.user_settings_dir={env['JUPYTERLAB_SETTINGS_DIR']}",
        f"--LabApp.workspaces_dir={env['JUPYTERLAB_WORKSPACES_DIR']}",
        # window.jupyterapp gives the tests JupyterLab's command registry
        # ("Run All" without hunting through menus) and the session state.
        "--LabApp.expose_app_in_browser=True",
        # No news feed or update check: they would reach for the network
        # (there is none in CI) and pop toasts over the notebook.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.terminals_enabled=False",
        # A bad LabApp option otherwise only logs "error linking extension"
        # and serves a Lab without this configuration (and without
        # window.jupyterapp); failing at start-up says what is wrong.
        "--ServerApp.reraise_server_extension_failures=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # CI containers run as root; the server refuses that without this.
        command.append("--allow-root")
    return command


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop `process` and its process group: SIGTERM, then SIGKILL.

    Only the group the test started (the server was launched as the leader
    of a new session) is signalled. On SIGTERM jupyter_server shuts its
    kernels down itself; kernels live in their own sessions but exit when
    their parent goes away (ipykernel's parent poller).

    Parameters
    ----------
    process : subprocess.Popen
        A process started with ``start_new_session=True``.
    grace : float
        Seconds to wait after SIGTERM before SIGKILL.
    """
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


def _wait_until_ready(server: JupyterServer, timeout: float) -> None:
    """Poll ``/api/status`` with the token until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {server.process.returncode} before answering.\n"
                f"--- server log ---\n{server.log_tail()}"
            )
        try:
            server.api("status", timeout=2.0)
            return
        except OSError:  # refused, reset, or URLError: not listening yet
            time.sleep(0.25)
    raise TimeoutError(
        f"JupyterLab did not answer /api/status within {timeout:.0f} s.\n"
        f"--- server log ---\n{server.log_tail()}"
    )


@contextlib.contextmanager
def jupyter_lab(
    content_dir: Path,
    *,
    python: str = sys.executable,
    log_path: Path | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 60.0,
    attempts: int = 3,
) -> Iterator[JupyterServer]:
    """Run JupyterLab on a temporary copy of `content_dir`.

    Parameters
    ----------
    content_dir : pathlib.Path
        Folder with the notebooks to serve. It is copied, so running the
        notebooks never writes into it (checkpoints, outputs, autosaves).
    python : str
        Interpreter whose environment provides JupyterLab and the kernel;
        by default the one running the tests.
    log_path : pathlib.Path, optional
        Where to keep the server log after the run (e.g. next to the
        screenshots, for CI). By default it dies with the temporary folder.
    extra_args : sequence of str
        More command-line options for ``jupyter lab``.
    startup_timeout : float
        Seconds to wait for the server to answer.
    attempts : int
        How often to try a fresh port if the server cannot start (another
        process may take the free port between probing and binding).

    Yields
    ------
    JupyterServer
        The running server; it is stopped when the ``with`` block exits.
    """
    with tempfile.TemporaryDirectory(prefix="gmm-lab-e2e-") as tmp:
        tmp_path = Path(tmp)
        root_dir = tmp_path / "root"
        shutil.copytree(content_dir, root_dir)
        env = isolated_env(tmp_path / "home")
        write_lab_user_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
        token = secrets.token_hex(24)
        server_log = tmp_path / "jupyter-server.log"

        server = None
        for attempt in range(1, attempts + 1):
            port = free_port()
            with open(server_log, "ab") as log:
                process = subprocess.Popen(
                    [*_lab_command(python, port, token, root_dir, env), *extra_args],
                    cwd=root_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,  # a file, not a pipe: a full pipe would block the server
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group, so we can stop all of it
                )
            server = JupyterServer(process, port, token, root_dir, server_log)
            try:
                _wait_until_ready(server, startup_timeout)
                break
            except RuntimeError:
                # Exited early. Retry only if another process took the port
                # between free_port() and the server's bind.
                stop_process_group(process)
                if attempt == attempts or "already in use" not in server.log_tail():
                    raise
            except BaseException:
                stop_process_group(process)
                raise
        try:
            yield server
        finally:
            stop_process_group(server.process)
            if log_path is not None:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(server_log, log_path)


def launch_chromium(playwright, executable: str = CHROMIUM) -> Browser:
    """Launch Debian's Chromium headless with a fresh temporary profile.

    Parameters
    ----------
    playwright : playwright.sync_api.Playwright
        The object returned by ``sync_playwright().start()``.
    executable : str
        Path of the Chromium binary.

    Returns
    -------
    playwright.sync_api.Browser
        The browser. Playwright's ``launch`` always uses a new temporary
        user-data-dir (removed on close), so no profile state carries over.
    """
    return playwright.chromium.launch(
        executable_path=executable,
        headless=True,
        args=CHROMIUM_ARGS,
    )


# --------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------

#: Problems in the notebook's outputs, read from JupyterLab's notebook model
#: (nbformat JSON) rather than the DOM, because in the DOM a traceback and a
#: stderr stream look alike (both ``application/vnd.jupyter.stderr``). Widgets
#: fail in the front end, not the kernel, so those are found in the DOM: a
#: view that failed says "Error displaying widget", a widget output with no
#: widget renderer at all falls back to its text/plain repr ("VBox(...)"), so
#: there are fewer widget views than widget outputs in the model, and an
#: exception in a callback lands in an Output widget, outside the model.
_OUTPUT_PROBLEMS_JS = """
(panelNode) => {
    const panel = [...window.jupyterapp.shell.widgets('main')].find((w) => w.node === panelNode);
    const problems = {errors: [], stderr: [], widgets: []};
    const cells = panel.content.model.toJSON().cells;
    let expectedWidgets = 0;
    cells.forEach((cell, index) => {
        for (const output of cell.outputs || []) {
            const where = `cell ${index + 1}`;
            if (output.output_type === 'error') {
                problems.errors.push(`${where}: ${output.ename}: ${output.evalue}`);
            } else if (output.output_type === 'stream' && output.name === 'stderr') {
                const text = Array.isArray(output.text) ? output.text.join('') : output.text;
                problems.stderr.push(`${where} (stderr): ${text.trim()}`);
            } else if (output.data && output.data['application/vnd.jupyter.widget-view+json']) {
                expectedWidgets += 1;
            }
        }
    });
    for (const node of panelNode.querySelectorAll('.jp-OutputArea-output')) {
        if (/Error displaying widget|Error rendering output item/i.test(node.innerText)) {
            problems.widgets.push(node.innerText.trim());
        }
    }
    // Exceptions in widget callbacks, captured by an Output widget (the
    // notebook model above only holds the cells' own outputs).
    for (const node of panelNode.querySelectorAll(
            '.jupyter-widgets .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')) {
        problems.widgets.push(`in a widget: ${node.innerText.trim()}`);
    }
    // Top-level outputs (not those inside an Output widget) holding a widget view.
    const rendered = [...panelNode.querySelectorAll('.jp-OutputArea-output')].filter((node) =>
        !node.parentElement.closest('.jp-OutputArea-output')
        && node.querySelector('.jupyter-widgets')).length;
    if (rendered < expectedWidgets) {
        problems.widgets.push(`${expectedWidgets - rendered} of ${expectedWidgets} `
                              + 'widget outputs were not rendered as widgets');
    }
    return problems;
}
"""


class LabPage:
    """One notebook open in JupyterLab in a Playwright page.

    Parameters
    ----------
    page : playwright.sync_api.Page
        A fresh page (its own browser context, so no cookies carry over).
    server : JupyterServer
        The server to talk to.
    screenshot_dir : pathlib.Path, optional
        Where :meth:`screenshot` writes PNGs.
    kernel_name : str
        The kernel's display name as shown in the status bar.
    """

    def __init__(
        self,
        page: Page,
        server: JupyterServer,
        screenshot_dir: Path | None = None,
        kernel_name: str = "Python 3 (ipykernel)",
    ):
        self.page = page
        self.server = server
        self.screenshot_dir = screenshot_dir
        self.kernel_name = kernel_name

    # -- locating ----------------------------------------------------------

    @property
    def panel(self) -> Locator:
        """The visible notebook panel.

        Scoped to the visible panel because a restored workspace could hold
        other notebooks in hidden tabs (``lm-mod-hidden``) with the same
        widget classes.
        """
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first

    def widget(self, css: str) -> Locator:
        """First element matching `css` inside the visible notebook."""
        return self.panel.locator(css).first

    # -- opening and running -----------------------------------------------

    def open_notebook(self, name: str, timeout: float = 60.0) -> None:
        """Open notebook `name` and wait until its kernel is idle.

        Parameters
        ----------
        name : str
            Path relative to the server's root dir, e.g. ``"toy.ipynb"``.
        timeout : float
            Seconds allowed for page load plus kernel start.
        """
        self.page.goto(self.server.notebook_url(name), timeout=timeout * 1000)
        self.panel.wait_for(state="visible", timeout=timeout * 1000)
        # Fold away the file browser: wide figures then fit without a
        # horizontal scroll bar, and screenshots show all of them.
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        self.wait_for_kernel_idle(timeout)

    def wait_for_kernel_idle(self, timeout: float = 60.0) -> None:
        """Wait until a kernel exists and is idle.

        The notebook toolbar calls the kernel idle about a second before a
        kernel exists; a "Run All" in that window opens the kernel-picker
        dialog and the test hangs. So wait for both the application state
        (session ready, kernel status ``idle``) and the status bar's
        ``"<kernel> | Idle"``, which is what a student sees.
        """
        self.page.wait_for_function(
            """() => {
                const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                const context = panel && panel.sessionContext;
                return !!(context && context.isReady && context.session
                          && context.session.kernel
                          && context.session.kernel.status === 'idle');
            }""",
            timeout=timeout * 1000,
        )
        status = self.page.locator("#jp-main-statusbar").get_by_text(
            re.compile(rf"{re.escape(self.kernel_name)}\s*\|\s*Idle")
        )
        status.first.wait_for(state="visible", timeout=timeout * 1000)

    def run_all(self, timeout: float = 120.0) -> None:
        """Run all cells and wait until every code cell has executed.

        Uses JupyterLab's own ``notebook:run-all-cells`` command (the menu's
        Run > Run All Cells). Its promise resolves when the last execution
        reply arrives; afterwards no prompt may show ``[*]`` and the kernel
        must be idle again. Execution stops at the first error, so the cells
        after it keep ``[ ]`` (see :meth:`unexecuted_cells`).
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self.wait_for_kernel_idle()
        # Fire and forget, then poll: awaiting the promise in evaluate() would
        # have no timeout.
        self.page.evaluate(
            """() => {
                window.__e2eRunAll = {done: false};
                window.jupyterapp.commands.execute('notebook:run-all-cells').then(
                    (ok) => { window.__e2eRunAll = {done: true, ok: ok}; },
                    (err) => { window.__e2eRunAll = {done: true, error: String(err)}; });
            }"""
        )
        try:
            self.page.wait_for_function("() => window.__e2eRunAll.done", timeout=timeout * 1000)
        except PlaywrightTimeout as exc:
            raise TimeoutError(f"Run All did not finish in {timeout:.0f} s; {self._dialog_text()}") from exc
        result = self.page.evaluate("() => window.__e2eRunAll")
        if "error" in result:
            raise RuntimeError(f"notebook:run-all-cells failed: {result['error']}")
        # A cell still running shows [*]; with ok === false a cell failed and
        # the rest were not run, which the error outputs will tell.
        self.page.wait_for_function(
            """(panel) => ![...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                            .some((prompt) => prompt.textContent.includes('*'))""",
            arg=self.panel.element_handle(),
            timeout=timeout * 1000,
        )
        self.wait_for_kernel_idle()

    def _dialog_text(self) -> str:
        """Text of an open modal dialog (e.g. the kernel picker), if any."""
        dialog = self.page.locator(".jp-Dialog")
        if dialog.count():
            return f"a dialog is open: {dialog.first.inner_text()!r}"
        return "no dialog is open"

    def unexecuted_cells(self) -> int:
        """Number of code cells with source that show no execution count."""
        return self.page.evaluate(
            """(panel) => [...panel.querySelectorAll('.jp-CodeCell')].filter((cell) => {
                    const prompt = cell.querySelector('.jp-InputPrompt');
                    const source = cell.querySelector('.jp-InputArea-editor');
                    return source && source.textContent.trim() !== ''
                           && !/\\[\\d+\\]/.test(prompt ? prompt.textContent : '');
                }).length""",
            self.panel.element_handle(),
        )

    def error_outputs(self, include_stderr: bool = True) -> list[str]:
        """Everything in the notebook's outputs that signals a problem.

        Parameters
        ----------
        include_stderr : bool
            Count text written to stderr (warnings, logging) as a problem.
            Pass False for a notebook that writes there on purpose (a
            plain-text progress bar, say).

        Returns
        -------
        list of str
            One line per problem: exceptions (``"cell 4: ValueError: ..."``),
            stderr streams, widgets that failed to render, tracebacks shown
            in Output widgets (callback errors). Empty when the notebook ran
            cleanly.
        """
        problems = self.page.evaluate(_OUTPUT_PROBLEMS_JS, self.panel.element_handle())
        return problems["errors"] + problems["widgets"] + (problems["stderr"] if include_stderr else [])

    # -- widgets -----------------------------------------------------------

    def kernel_idle(self) -> bool:
        """Whether the notebook's kernel is idle right now."""
        return self.page.evaluate(
            """() => {
                const panel = window.jupyterapp.shell.currentWidget;
                const kernel = panel && panel.sessionContext.session
                               && panel.sessionContext.session.kernel;
                return !!kernel && kernel.status === 'idle';
            }"""
        )

    def wait_for_text(self, locator: Locator, pattern: str, timeout: float = 30.0) -> str:
        """Wait until `locator`'s text matches regular expression `pattern`;
        return the text."""
        from playwright.sync_api import expect

        expect(locator).to_have_text(re.compile(pattern), timeout=timeout * 1000)
        return locator.inner_text()

    # -- screenshots -------------------------------------------------------

    def screenshot(self, name: str, element: Locator | None = None) -> Path | None:
        """Save ``<screenshot_dir>/<name>.png`` of `element` or the page.

        The mouse is parked in the top-left corner first, so no tooltip or
        hover state shows in the picture.
        """
        if self.screenshot_dir is None:
            return None
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.screenshot_dir / f"{name}.png"
        self.page.mouse.move(0, 0)
        if element is None:
            self.page.screenshot(path=path)
        else:
            element.scroll_into_view_if_needed()
            element.screenshot(path=path)
        return path
