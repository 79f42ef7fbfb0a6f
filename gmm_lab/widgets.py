"""Notebook controls for watching EM: the scrubber and the live runner.

These classes only wire ipywidgets controls to an :class:`~gmm_lab.plotting.EMView`:
the controls hold the state (which iteration, which settings), the view does
the drawing. They are made for JupyterLab with ipympl (``%matplotlib widget``),
where the figure itself is a widget placed in the layout. Elsewhere:

- :func:`show_history` returns a static small-multiples figure instead of a
  scrubber, so a notebook rendered without a kernel still shows the run;
- a :class:`Scrubber` or :class:`LiveRunner` made without ipympl shows the
  figure as a PNG image widget, redrawn at each change.

Every callback runs inside the ``errors`` Output widget shown under the
figure, so a failure prints a traceback there instead of vanishing.
"""

from __future__ import annotations

import asyncio
import functools
import html
import io
import warnings

import ipywidgets as widgets
import matplotlib
from matplotlib.figure import Figure

from gmm_lab.data import SPEAKER_GROUPS, VOWELS, load_vowels
from gmm_lab.em import COVARIANCE_TYPES, INIT_METHODS, em
from gmm_lab.plotting import EMView, LockedFigure, plot_iterations

__all__ = [
    "is_widget_backend",
    "readout_html",
    "show_history",
    "Scrubber",
    "LiveRunner",
]

_FIGSIZE = (9.5, 4.2)


# ---------------------------------------------------------------------------
# figures inside widget layouts


def is_widget_backend() -> bool:
    """True when matplotlib draws with ipympl (``%matplotlib widget``)."""
    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or "widget" in backend


def _new_figure(figsize=_FIGSIZE) -> Figure:
    """A figure for a widget layout: a LockedFigure that pyplot does not manage.

    The widgets' callbacks may run on two kernel threads at once (see
    :class:`~gmm_lab.plotting.LockedFigure`), so every render of the figure
    holds its lock:

    - With ipympl its canvas is a widget that renders and sends each frame
      under that lock (:func:`_locked_canvas_class`). Without ipympl it has
      no canvas of its own and the PNG fallback renders it with savefig.
    - pyplot never sees it. The view renders every change itself; pyplot
      would also render it after every widget message in which it was
      stale (on whichever thread handled the message), and a later
      ``plt.plot(...)`` or ``plt.show()`` would draw on it or show it again.
    """
    figure = LockedFigure(figsize=figsize)
    if is_widget_backend():
        from ipympl.backend_nbagg import FigureManager

        canvas = _locked_canvas_class()(figure)
        FigureManager(canvas, 0)  # the toolbar and ipympl's message handling
        # The 'Figure 0' header only takes room in a layout with its own labels.
        canvas.header_visible = False
    return figure


@functools.cache
def _locked_canvas_class():
    """ipympl's canvas widget, rendering under its figure's ``draw_lock``.

    ipympl renders a figure when the browser asks for a frame (when the
    canvas appears, after a resize, a zoom, or a ``draw_idle``), on
    whichever kernel thread handles the canvas's messages. A render clears
    the canvas's one Agg buffer, fills it, and sends it (or the pixels that
    changed); holding the lock from the clear to the send keeps such a frame
    from mixing with an update on another thread, and keeps a view's own
    frame from being cleared, or marked as sent, by it.
    """
    from ipympl.backend_nbagg import Canvas

    class LockedCanvas(Canvas):
        def draw(self):
            with self.figure.draw_lock:
                super().draw()

        def print_figure(self, *args, **kwargs):  # savefig renders into the same buffer
            with self.figure.draw_lock:
                return super().print_figure(*args, **kwargs)

    return LockedCanvas


def _figure_widget(figure) -> widgets.Widget:
    """The widget that shows ``figure``: its ipympl canvas, or a PNG Image."""
    if isinstance(figure.canvas, widgets.DOMWidget):
        return figure.canvas
    return widgets.Image(format="png")


def _refresh_image(image, figure) -> None:
    """Redraw the PNG of a figure shown as an Image widget (no ipympl)."""
    if isinstance(image, widgets.Image):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        image.value = buffer.getvalue()


def _format_readout_number(value: float, decimals: int, *, signed: bool = False) -> str:
    # k-means++ can start EM at L near -4e12: as digits with separators that
    # is a 20-character number, so large values get four significant digits.
    sign = "+" if signed else ""
    if abs(value) < 1e7:
        return f"{value:{sign},.{decimals}f}"
    return f"{value:{sign}.3e}"


def _color_swatch(rgb) -> str:
    red, green, blue = (int(round(255 * c)) for c in rgb[:3])
    return f'<span style="color: rgb({red}, {green}, {blue}); font-size: 1.2em">&#9632;</span>'


def readout_html(states, index: int, *, colors=None, features=None, status: str = "",
                 notes=()) -> str:
    """The text under the figure: iteration, log-likelihood and each component.

    Parameters
    ----------
    states : sequence of EMState
        The run so far (a History or a list).
    index : int
        Which state is shown.
    colors : ndarray of shape (n_components, 3), optional
        Component colours, for a swatch in each row.
    features : sequence of str, optional
        Feature names for the mean column header.
    status : str, default=''
        Extra words after the iteration, e.g. 'running'.
    notes : sequence of str, default=()
        Warnings EM gave at this iteration (e.g. a collapsed component),
        shown under the table.

    Returns
    -------
    str
        HTML: 'iteration t of T', L(theta_t) and its change from t - 1, then a
        table of pi_k, N_k and mu_k per component.
    """
    state = states[index]
    last = len(states) - 1
    words = [f"<b>iteration {state.iteration} of {states[last].iteration}</b>"]
    words.append(f"log-likelihood L = {_format_readout_number(state.log_likelihood, 2)}")
    if index > 0:
        change = state.log_likelihood - states[index - 1].log_likelihood
        words.append(f"change from iteration {states[index - 1].iteration}: "
                     f"{_format_readout_number(change, 3, signed=True)}")
    else:
        words.append("(the initial guess)")
    if state.converged:
        words.append("<b>converged</b>")
    if status:
        words.append(html.escape(status))
    if features:
        names = ", ".join(html.escape(str(name).upper()) for name in features)
        mean_header = f"mean &mu;<sub>k</sub> ({names}), Hz"
    else:
        mean_header = "mean &mu;<sub>k</sub>"
    cell = 'style="padding: 1px 12px 1px 0; text-align: left"'
    rows = [
        f"<tr><th {cell}>component k</th><th {cell}>weight &pi;<sub>k</sub></th>"
        f"<th {cell}>N<sub>k</sub></th><th {cell}>{mean_header}</th></tr>"
    ]
    counts = state.component_counts
    for k in range(state.n_components):
        swatch = _color_swatch(colors[k]) + " " if colors is not None else ""
        mean = ", ".join(f"{value:,.0f}" for value in state.means[k])
        rows.append(
            f"<tr><td {cell}>{swatch}{k}</td><td {cell}>{state.weights[k]:.3f}</td>"
            f"<td {cell}>{counts[k]:.1f}</td><td {cell}>({mean})</td></tr>"
        )
    notes_html = "".join(
        f'<div style="color: #8a5300">&#9888; {html.escape(str(note))}</div>' for note in notes)
    return (
        '<div style="font-family: sans-serif; font-size: 13px">'
        + " &nbsp;&middot;&nbsp; ".join(words)
        + '<table style="border-collapse: collapse; margin-top: 4px">'
        + "".join(rows)
        + "</table>"
        + notes_html
        + "</div>"
    )


# ---------------------------------------------------------------------------
# a finished run


class Scrubber(widgets.VBox):
    """Play and scrub through a finished EM run, on one figure.

    A Play button linked in the browser (``jslink``) to an iteration slider,
    the figure (scatter, ellipses, log-likelihood curve) and a readout. The
    slider holds the iteration; its observer calls ``view.show(index)``,
    which moves the same artists, so nothing is re-created while scrubbing.

    Parameters
    ----------
    history : History
        From :func:`gmm_lab.em.run_em`.
    data : VowelData, optional
        The tokens the run was fitted on (vowel colours, axis names);
        default ``history.X``.
    interval : int, default=300
        Milliseconds between frames when playing.
    **view_options
        Passed to :class:`~gmm_lab.plotting.EMView`: ``n_std``, ``color_by``,
        ``vowel_chart``, ``dims``, ``features``, ``show_log_likelihood``.

    Attributes
    ----------
    view : EMView
    play : ipywidgets.Play
    slider : ipywidgets.IntSlider
        Range 0..len(history) - 1.
    readout : ipywidgets.HTML
    errors : ipywidgets.Output
        Where callback errors appear.
    """

    def __init__(self, history, data=None, *, interval: int = 300, **view_options):
        self.history = history
        self.view = EMView(history.X if data is None else data, history,
                           figure=_new_figure(), **view_options)
        last = len(history) - 1
        self.play = widgets.Play(value=0, min=0, max=last, step=1, interval=interval,
                                 description="Play", tooltip="Play the iterations")
        self.slider = widgets.IntSlider(value=0, min=0, max=last, description="iteration",
                                        continuous_update=True,
                                        layout=widgets.Layout(width="420px"))
        # The link lives in the browser, so Play moves the slider without a
        # round trip; the slider's observer below then draws the frame.
        self.link = widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.readout = widgets.HTML()
        self.errors = widgets.Output()
        self.figure_widget = _figure_widget(self.view.figure)
        self.slider.observe(self._on_slider, names="value")

        self.play.add_class("gmm-lab-play")
        self.slider.add_class("gmm-lab-slider")
        self.readout.add_class("gmm-lab-readout")
        self.errors.add_class("gmm-lab-errors")
        super().__init__([widgets.HBox([self.play, self.slider]), self.figure_widget,
                          self.readout, self.errors])
        self.add_class("gmm-lab-scrubber")
        # Not rendered yet: the canvas renders itself when it appears.
        self.show(0, draw=False)

    def show(self, index: int, *, draw: bool = True) -> None:
        """Draw ``history[index]`` and its readout (what the slider does).

        ``draw=False`` moves the artists without rendering the figure.
        """
        self.view.show(index, draw=draw)
        self.readout.value = readout_html(self.history, index,
                                          colors=self.view.component_colors,
                                          features=self.view.features)
        _refresh_image(self.figure_widget, self.view.figure)

    def _on_slider(self, change) -> None:
        with self.errors:
            self.show(change["new"])


def show_history(history, data=None, *, iterations=None, **options):
    """Show a finished run: a scrubber with ipympl, small multiples otherwise.

    Parameters
    ----------
    history : History
        From :func:`gmm_lab.em.run_em`.
    data : VowelData, optional
        The tokens the run was fitted on.
    iterations : sequence of int, optional
        For the static figure: which iterations get a panel (default 0, 1,
        2, 5 and the last). Ignored by the scrubber.
    **options
        ``n_std``, ``color_by``, ``vowel_chart``, ``dims``, ``features``.

    Returns
    -------
    Scrubber or matplotlib.figure.Figure
        The scrubber when the backend is ipympl (``%matplotlib widget``);
        otherwise (inline backend, nbconvert, a script) a static figure,
        which a notebook shows when it is the cell's last value.
    """
    if is_widget_backend():
        return Scrubber(history, data, **options)
    return plot_iterations(history, data, iterations, **options)


# ---------------------------------------------------------------------------
# a run as it happens


class LiveRunner(widgets.VBox):
    """Run EM step by step on the vowels, watching each iteration as it arrives.

    Choose the vowels, speaker groups, K, covariance type, initialisation
    and seed; any change starts again from iteration 0. **Step** computes
    one more iteration, **Run** keeps stepping at the chosen speed until EM
    converges (or **Stop**), **Reset** goes back to iteration 0. The slider
    scrubs back over the iterations computed so far.

    Run does not block the notebook: it is an asyncio task on the kernel's
    event loop that sleeps between steps, so the kernel handles the Stop
    click (and everything else) while EM runs.

    Parameters
    ----------
    vowels : sequence of str, default=('IY', 'IH')
        Vowel labels, as in the handout.
    speakers : sequence of str, optional
        Speaker groups 'M', 'W', 'C'; default all.
    n_components : int, default=2
    covariance_type : {'full', 'diag', 'spherical', 'tied'}, default='full'
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        'kmeans' starts from whole clusters, so iteration 0 already has
        ellipses to look at; 'k-means++' starts from single points.
    seed : int, default=0
        ``random_state`` of the initialisation.
    max_iter : int, default=100
    tol : float, default=1e-3
    speed : int, default=4
        Iterations per second while running.
    **view_options
        Passed to :class:`~gmm_lab.plotting.EMView` (``n_std``,
        ``vowel_chart``, ``color_by``).

    Attributes
    ----------
    states : list of EMState
        The iterations computed so far, state 0 first.
    notes : dict of int to list of str
        Warnings EM gave, by iteration (shown in the readout).
    finished : bool
        True once EM has converged or reached max_iter.
    running : bool
        True while Run is stepping.
    task : asyncio.Task or None
        The task of the last Run started on an event loop.
    view : EMView
    step_button, run_button, stop_button, reset_button : ipywidgets.Button
    slider : ipywidgets.IntSlider
    readout : ipywidgets.HTML
    errors : ipywidgets.Output
    """

    def __init__(self, vowels=("IY", "IH"), speakers=None, *, n_components: int = 2,
                 covariance_type: str = "full", init_params: str = "kmeans",
                 seed: int = 0, max_iter: int = 100, tol: float = 1e-3, speed: int = 4,
                 **view_options):
        self.view_options = view_options
        self.max_iter = max_iter
        self.tol = tol
        self.states = []
        self.notes = {}
        self.finished = False
        self.running = False
        self.task = None
        self.view = None
        self.data = None
        self._generator = None
        # Identifies the current run; Stop or Reset replaces it, and a run
        # that finds itself replaced stops stepping.
        self._run_token = None

        self._make_controls(vowels, speakers, n_components, covariance_type, init_params,
                            seed, speed)
        self.figure = _new_figure()
        self.figure_widget = _figure_widget(self.figure)
        settings = widgets.HBox([
            self.vowels, self.speakers,
            widgets.VBox([self.n_components, self.covariance_type, self.init_params, self.seed]),
        ])
        buttons = widgets.HBox([self.step_button, self.run_button, self.stop_button,
                                self.reset_button, self.speed])
        super().__init__([settings, buttons, self.slider, self.figure_widget,
                          self.readout, self.errors])
        self.add_class("gmm-lab-runner")
        # Not rendered yet: the canvas renders itself when it appears.
        self._restart(draw=False)

    def _make_controls(self, vowels, speakers, n_components, covariance_type, init_params,
                       seed, speed):
        wide = {"description_width": "initial"}
        self.vowels = widgets.SelectMultiple(
            options=[(vowel.legend, vowel.label) for vowel in VOWELS],
            value=tuple(str(v).upper() for v in vowels), rows=6,
            description="vowels", style=wide,
            tooltip="Ctrl-click or Shift-click to choose several")
        all_groups = tuple(SPEAKER_GROUPS)
        self.speakers = widgets.SelectMultiple(
            options=[(name, key) for key, name in SPEAKER_GROUPS.items()],
            value=all_groups if speakers is None else tuple(str(s).upper() for s in speakers),
            rows=3, description="speakers", style=wide)
        self.n_components = widgets.BoundedIntText(
            value=n_components, min=1, max=20, description="components K",
            style=wide, layout=widgets.Layout(width="170px"))
        self.covariance_type = widgets.Dropdown(
            options=COVARIANCE_TYPES, value=covariance_type, description="covariance",
            style=wide, layout=widgets.Layout(width="210px"))
        self.init_params = widgets.Dropdown(
            options=INIT_METHODS, value=init_params, description="init",
            style=wide, layout=widgets.Layout(width="210px"))
        self.seed = widgets.IntText(value=seed, description="seed", style=wide,
                                    layout=widgets.Layout(width="170px"))
        for control in (self.vowels, self.speakers, self.n_components,
                        self.covariance_type, self.init_params, self.seed):
            control.observe(self._on_setting, names="value")

        self.step_button = widgets.Button(description="Step", icon="step-forward",
                                          tooltip="Compute one more iteration")
        self.run_button = widgets.Button(description="Run", icon="play", button_style="success",
                                         tooltip="Keep stepping until EM converges")
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True,
                                          tooltip="Stop running")
        self.reset_button = widgets.Button(description="Reset", icon="undo",
                                           tooltip="Back to iteration 0")
        self.speed = widgets.IntSlider(value=speed, min=1, max=30, description="iterations/s",
                                       style=wide)
        self.step_button.on_click(self._on_step)
        self.run_button.on_click(self._on_run)
        self.stop_button.on_click(self._on_stop)
        self.reset_button.on_click(self._on_reset)

        self.slider = widgets.IntSlider(value=0, min=0, max=0, description="iteration",
                                        continuous_update=True,
                                        layout=widgets.Layout(width="420px"))
        self.slider.observe(self._on_slider, names="value")
        self.readout = widgets.HTML()
        self.errors = widgets.Output()

        self.step_button.add_class("gmm-lab-step")
        self.run_button.add_class("gmm-lab-run")
        self.stop_button.add_class("gmm-lab-stop")
        self.reset_button.add_class("gmm-lab-reset")
        self.speed.add_class("gmm-lab-speed")
        self.slider.add_class("gmm-lab-slider")
        self.readout.add_class("gmm-lab-readout")
        self.errors.add_class("gmm-lab-errors")

    # -- what the buttons do ------------------------------------------------

    def reset(self) -> None:
        """Start again from iteration 0 with the current settings."""
        self._restart(draw=True)

    def _restart(self, *, draw: bool) -> None:
        self.stop()
        self.states = []
        self.notes = {}
        self.finished = False
        self._generator = None
        try:
            if not self.vowels.value:
                raise ValueError(
                    "no vowel is selected. Choose at least one (Ctrl-click for several).")
            if not self.speakers.value:
                raise ValueError("no speaker group is selected. Choose men, women or children.")
            self.data = load_vowels(self.vowels.value, self.speakers.value)
            self._generator = em(self.data.X, self.n_components.value,
                                 covariance_type=self.covariance_type.value,
                                 init_params=self.init_params.value,
                                 random_state=self.seed.value,
                                 max_iter=self.max_iter, tol=self.tol)
            first = self._next_state()
        except ValueError as error:
            # A setting the student can fix (no vowel chosen, more components
            # than points): say what is wrong instead of raising.
            self.finished = True
            self.slider.max = 0
            self.readout.value = (
                '<div style="color: #b00020"><b>Cannot start EM:</b> '
                f"{html.escape(str(error))}</div>")
            self._update_buttons()
            return
        self._keep(first)
        # The view is made once state 0 exists: its layout leaves room for
        # the log-likelihood's tick labels, which only then have numbers.
        self.view = EMView(self.data, self.states, figure=self.figure, **self.view_options)
        self._show_last(draw=draw)
        self._update_buttons()

    def step(self):
        """Compute the next iteration and show it.

        Returns
        -------
        EMState or None
            The new state, or None when EM had already finished.
        """
        if self._generator is None or self.finished:
            return None
        try:
            state = self._next_state()
        except StopIteration:
            self.finished = True
            self._update_buttons()
            self._show_readout(self.slider.value)
            return None
        self._keep(state)
        self.view.set_states(self.states)
        self._show_last()
        self._update_buttons()
        return state

    def run_to_end(self) -> None:
        """Compute all remaining iterations at once, then show the last.

        The synchronous form of Run, for scripts and tests: no drawing in
        between, so it takes as long as EM itself.
        """
        self.stop()
        while not self.finished and self._generator is not None:
            try:
                state = self._next_state()
            except StopIteration:
                break
            self._keep(state)
        self.finished = True
        if self.states:
            self.view.set_states(self.states)
            self._show_last()
        self._update_buttons()

    def _keep(self, state) -> None:
        self.states.append(state)
        # The generator stops after a converged state or at max_iter; knowing
        # it now keeps Step from being offered when nothing more will come.
        if state.converged or state.iteration >= self.max_iter:
            self.finished = True

    def _next_state(self):
        # EM warns when a component collapses; in a widget callback a
        # warning would vanish (or land in the wrong cell), so keep it with
        # its iteration and show it in the readout.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            state = next(self._generator)
        if caught:
            self.notes[state.iteration] = [str(warning.message) for warning in caught]
        return state

    async def run_async(self) -> None:
        """Step at ``speed`` iterations per second until finished or stopped.

        Sleeping between steps hands control back to the event loop, which
        is what lets the kernel process the Stop click meanwhile.
        """
        await self._step_until_stopped(self._start_running())

    def run(self):
        """Start Run: an asyncio task when an event loop runs, else :meth:`run_to_end`.

        In a Jupyter kernel a loop is always running, so Run returns at once
        and steps in the background. Without one (a script, a test calling
        ``run_button.click()``) there is nothing to step in the background,
        so it computes to the end synchronously.

        Returns
        -------
        asyncio.Task or None
        """
        if self.running or self.finished:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.run_to_end()
            return None
        # Mark the run as started now, not when the task first runs, so a
        # second click on Run before then cannot start a second task.
        self.task = loop.create_task(self._step_until_stopped(self._start_running()))
        return self.task

    def _start_running(self):
        token = object()
        self._run_token = token
        self.running = True
        self._update_buttons()
        return token

    async def _step_until_stopped(self, token) -> None:
        try:
            while self._run_token is token and not self.finished:
                stepped = False
                with self.errors:
                    self.step()
                    stepped = True
                if not stepped:
                    break  # the error is shown in self.errors; do not repeat it
                await asyncio.sleep(1.0 / self.speed.value)
        finally:
            if self._run_token is token:
                self._run_token = None
                self.running = False
                self._update_buttons()
                if self.states:
                    self._show_readout(self.slider.value)

    def stop(self) -> None:
        """Stop a Run after the step in progress."""
        self._run_token = None
        if self.running:
            self.running = False
            self._update_buttons()
            if self.states:
                self._show_readout(self.slider.value)

    # -- showing ------------------------------------------------------------

    def show(self, index: int, *, draw: bool = True) -> None:
        """Draw ``states[index]`` and its readout (what the slider does).

        ``draw=False`` moves the artists without rendering the figure.
        """
        self.view.show(index, draw=draw)
        self._show_readout(index)
        _refresh_image(self.figure_widget, self.figure)

    def _show_last(self, *, draw: bool = True) -> None:
        """Move the slider to the newest state and show it, rendering once."""
        index = len(self.states) - 1
        before = self.slider.value
        # A lower max pulls the value down to it, and the observer shows it.
        self.slider.max = index
        if self.slider.value != index:
            self.slider.value = index  # the observer shows it
        elif before == index:
            self.show(index, draw=draw)  # the value did not change: no observer call

    def _show_readout(self, index):
        if not self.states:
            return
        if self.running:
            status = "running"
        elif self.finished and not self.states[-1].converged:
            status = f"stopped at max_iter = {self.max_iter}"
        else:
            status = ""
        self.readout.value = readout_html(self.states, index, colors=self.view.component_colors,
                                          features=self.view.features, status=status,
                                          notes=self.notes.get(self.states[index].iteration, ()))

    def _update_buttons(self):
        cannot_step = self.finished or self._generator is None
        self.step_button.disabled = cannot_step or self.running
        self.run_button.disabled = cannot_step or self.running
        self.stop_button.disabled = not self.running

    # -- callbacks ----------------------------------------------------------

    def _on_step(self, _button):
        with self.errors:
            self.step()

    def _on_run(self, _button):
        with self.errors:
            self.run()

    def _on_stop(self, _button):
        with self.errors:
            self.stop()

    def _on_reset(self, _button):
        with self.errors:
            self.reset()

    def _on_setting(self, _change):
        with self.errors:
            self.reset()

    def _on_slider(self, change):
        if not self.states:
            return
        with self.errors:
            self.show(change["new"])
