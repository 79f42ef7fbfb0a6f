"""The scrubber, the live runner and the static fallback, driven from Python.

The widgets are driven as the browser would drive them: setting
``slider.value``, calling ``button.click()``. Expected numbers come from
the history itself or from an independent ``run_em`` with the same
settings, never from the widget's own drawing code. The last test starts
a real Jupyter kernel with ipympl and checks that Run leaves it free to
handle Stop.
"""


import matplotlib

matplotlib.use("Agg")

import asyncio
import re
import sys
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure

from gmm_lab import widgets as gmm_widgets
from gmm_lab.data import load_vowels
from gmm_lab.em import CollapsedComponentWarning, run_em
from gmm_lab.widgets import LiveRunner, Scrubber, show_history


@pytest.fixture(scope="module")
def history(data):
    return run_em(data.X, 2, random_state=0, init_params="kmeans")


@pytest.fixture
def renders(monkeypatch):
    """The figures the widgets render on screen, one entry per frame.

    Without ipympl the widgets' figures are outside pyplot, so their canvas
    is a plain FigureCanvasBase, whose draw() ipympl's canvas would turn
    into a frame for the browser. (savefig, which the PNG fallback uses,
    renders on a temporary Agg canvas and is not counted.)
    """
    calls = []

    def draw(canvas, *args, **kwargs):
        if type(canvas) is FigureCanvasBase:
            calls.append(canvas.figure)

    monkeypatch.setattr(FigureCanvasBase, "draw", draw)
    monkeypatch.setattr(FigureCanvasBase, "draw_idle", lambda canvas, *a, **k: calls.append("idle"))
    return calls


def readout_text(html_widget) -> str:
    """The readout without tags and entities, as a student reads it."""
    text = re.sub(r"<[^>]+>", " ", html_widget.value)
    text = text.replace("&nbsp;", " ").replace("&middot;", "·")
    return re.sub(r"\s+", " ", text)


# ---------------------------------------------------------------------------
# scrubber


def test_scrubber_slider_covers_the_history(history, data):
    scrubber = Scrubber(history, data)
    assert len(history) > 3
    assert (scrubber.slider.min, scrubber.slider.max) == (0, len(history) - 1)
    assert (scrubber.play.min, scrubber.play.max) == (0, len(history) - 1)
    assert scrubber.link.source == (scrubber.play, "value")
    assert scrubber.link.target == (scrubber.slider, "value")


def test_setting_the_slider_updates_readout_and_artists(history, data):
    scrubber = Scrubber(history, data)
    last = len(history) - 1
    for t in (3, 1, last):
        scrubber.slider.value = t
        state = history[t]
        text = readout_text(scrubber.readout)
        assert f"iteration {t} of {last}" in text
        assert f"{state.log_likelihood:,.2f}" in text
        change = state.log_likelihood - history[t - 1].log_likelihood
        assert f"{change:+,.3f}" in text
        for k in range(2):
            assert f"{state.weights[k]:.3f}" in text
            assert f"{state.responsibilities[:, k].sum():.1f}" in text  # N_k
            np.testing.assert_allclose(scrubber.view.ellipses[k].get_center(), state.means[k])
        assert list(scrubber.view.marker.get_xdata()) == [t]
    assert "converged" in readout_text(scrubber.readout)


def test_readout_keeps_huge_log_likelihoods_short(data):
    # k-means++ starts from single tokens: L(theta_0) is around -1e12.
    history = run_em(data.X, 2, random_state=0, init_params="k-means++")
    assert history[0].log_likelihood < -1e7
    scrubber = Scrubber(history, data)
    assert f"L = {history[0].log_likelihood:.3e}" in readout_text(scrubber.readout)
    scrubber.slider.value = 1
    change = history[1].log_likelihood - history[0].log_likelihood
    text = readout_text(scrubber.readout)
    assert f"change from iteration 0: {change:+.3e}" in text
    assert f"L = {history[1].log_likelihood:,.2f}" in text


def test_scrubber_reuses_one_figure(history, data):
    scrubber = Scrubber(history, data)
    figure, ellipses = scrubber.view.figure, list(scrubber.view.ellipses)
    for t in range(len(history)):
        scrubber.slider.value = t
    assert scrubber.view.figure is figure
    assert all(a is b for a, b in zip(scrubber.view.ellipses, ellipses))


def test_scrubber_dom_contract(history, data):
    scrubber = Scrubber(history, data)
    assert "gmm-lab-scrubber" in scrubber._dom_classes
    assert "gmm-lab-play" in scrubber.play._dom_classes
    assert "gmm-lab-slider" in scrubber.slider._dom_classes
    assert "gmm-lab-readout" in scrubber.readout._dom_classes
    assert isinstance(scrubber, widgets.VBox)
    assert isinstance(scrubber.errors, widgets.Output)
    assert scrubber.errors in scrubber.children
    # Without ipympl the figure is shown as a PNG image that follows the slider.
    assert isinstance(scrubber.figure_widget, widgets.Image)
    first_png = scrubber.figure_widget.value
    scrubber.slider.value = 2
    assert scrubber.figure_widget.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert scrubber.figure_widget.value != first_png


def test_scrubber_renders_once_per_slider_move(history, data, renders):
    scrubber = Scrubber(history, data)
    assert renders == []  # the canvas renders itself when it appears
    for n, t in enumerate((3, 1, len(history) - 1), start=1):
        scrubber.slider.value = t
        assert renders == [scrubber.view.figure] * n
    scrubber.slider.value = len(history) - 1  # no move, no frame
    assert len(renders) == 3


def test_show_history_falls_back_to_small_multiples(history, data):
    assert "agg" in matplotlib.get_backend().lower()
    figure = show_history(history, data)
    assert isinstance(figure, Figure)
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible()]
    assert titles[0].startswith("iteration 0")
    assert titles[-1] == "log-likelihood"


def test_show_history_gives_the_scrubber_with_ipympl(history, data, monkeypatch):
    backend_nbagg = pytest.importorskip("ipympl.backend_nbagg")
    # Importing ipympl made it matplotlib's backend; the other tests run on Agg.
    matplotlib.use("Agg")
    monkeypatch.setattr(gmm_widgets.matplotlib, "get_backend",
                        lambda: "module://ipympl.backend_nbagg")
    scrubber = show_history(history, data)
    assert isinstance(scrubber, Scrubber)
    # The figure is an ipympl canvas widget in the layout, and not pyplot's:
    # a later plt.plot() or plt.show() must not land on it.
    assert isinstance(scrubber.figure_widget, backend_nbagg.Canvas)
    assert scrubber.figure_widget is scrubber.view.figure.canvas
    assert scrubber.figure_widget in scrubber.children
    assert plt.get_fignums() == []


# ---------------------------------------------------------------------------
# live runner


def make_runner(**settings):
    settings.setdefault("vowels", ("IY", "IH"))
    settings.setdefault("seed", 0)
    return LiveRunner(**settings)


def test_runner_starts_at_iteration_zero():
    runner = make_runner()
    assert len(runner.states) == 1 and runner.states[0].iteration == 0
    assert (runner.slider.max, runner.slider.value) == (0, 0)
    assert "iteration 0 of 0" in readout_text(runner.readout)
    assert runner.stop_button.disabled and not runner.step_button.disabled


def test_step_clicks_compute_states_one_at_a_time(data):
    runner = make_runner()
    reference = run_em(data.X, 2, random_state=0, init_params="kmeans")
    for n in (2, 3, 4):
        runner.step_button.click()
        assert len(runner.states) == n
        assert runner.slider.max == n - 1 and runner.slider.value == n - 1
        assert f"iteration {n - 1} of {n - 1}" in readout_text(runner.readout)
        np.testing.assert_allclose(runner.states[-1].means, reference[n - 1].means)
        for k, ellipse in enumerate(runner.view.ellipses):
            np.testing.assert_allclose(ellipse.get_center(), reference[n - 1].means[k])
    # Scrubbing back over what was computed shows that state.
    runner.slider.value = 1
    assert "iteration 1 of 3" in readout_text(runner.readout)
    np.testing.assert_allclose(runner.view.ellipses[0].get_center(), reference[1].means[0])


def test_runner_renders_once_per_change(renders):
    runner = make_runner()
    assert renders == []  # the canvas renders itself when it appears
    changes = [
        runner.step_button.click,
        runner.step_button.click,
        lambda: setattr(runner.slider, "value", 0),
        runner.step_button.click,  # back to the newest state from iteration 0
        runner.reset_button.click,  # from iteration 3 back to 0
        runner.reset_button.click,  # from iteration 0 to 0
        lambda: setattr(runner.n_components, "value", 3),
        runner.run_button.click,  # no event loop: to the end, then one frame
    ]
    for n, change in enumerate(changes, start=1):
        change()
        assert renders == [runner.figure] * n, f"change {n} rendered {len(renders) - n + 1} times"


def test_run_without_an_event_loop_computes_to_the_end(data):
    runner = make_runner()
    reference = run_em(data.X, 2, random_state=0, init_params="kmeans")
    runner.run_button.click()
    assert runner.finished and not runner.running
    assert len(runner.states) == len(reference)
    assert runner.slider.max == len(reference) - 1
    np.testing.assert_allclose(runner.states[-1].means, reference[-1].means)
    assert runner.step_button.disabled and runner.run_button.disabled
    runner.step_button.click()  # nothing more to compute
    assert len(runner.states) == len(reference)


def test_reset_and_settings_start_again():
    runner = make_runner()
    runner.step_button.click()
    runner.step_button.click()
    runner.reset_button.click()
    assert len(runner.states) == 1 and runner.slider.max == 0
    runner.n_components.value = 3
    assert len(runner.states) == 1 and len(runner.view.ellipses) == 3
    runner.vowels.value = ("IY", "AA", "UW")
    assert set(runner.data.vowel) == {"IY", "AA", "UW"}
    runner.speakers.value = ("C",)
    assert set(runner.data.speaker_type) == {"C"}
    runner.covariance_type.value = "diag"
    runner.step_button.click()
    off_diagonal = runner.states[-1].covariances[:, 0, 1]
    np.testing.assert_allclose(off_diagonal, 0.0)


def test_settings_that_cannot_run_are_explained():
    runner = make_runner()
    runner.vowels.value = ()
    assert "Cannot start EM" in runner.readout.value
    assert "no vowel is selected" in runner.readout.value
    assert runner.step_button.disabled and runner.run_button.disabled
    runner.vowels.value = ("IY",)
    assert len(runner.states) == 1 and not runner.step_button.disabled


def test_em_warnings_are_kept_for_the_readout():
    # Eight components for the 30 IY tokens of children: some collapse.
    data = load_vowels(["IY"], ["C"])
    with pytest.warns(CollapsedComponentWarning) as caught:
        run_em(data.X, 8, random_state=0, init_params="random_from_data")
    collapsed_at = sorted({int(re.search(r"at iteration (\d+)", str(w.message)).group(1))
                           for w in caught if w.category is CollapsedComponentWarning})
    runner = make_runner(vowels=("IY",), speakers=("C",), n_components=8,
                         init_params="random_from_data")
    runner.run_to_end()
    assert sorted(runner.notes) == collapsed_at
    runner.slider.value = collapsed_at[0]
    assert "collapsed" in runner.readout.value


def test_run_as_a_task_can_be_stopped():
    runner = make_runner(speed=30, tol=1e-9, max_iter=200)

    async def click_run_then_stop():
        runner.run_button.click()  # inside a running loop: a background task
        assert runner.task is not None and runner.running
        assert runner.stop_button.disabled is False
        await asyncio.sleep(0.4)
        runner.stop_button.click()
        await asyncio.wait_for(runner.task, timeout=5)

    asyncio.run(click_run_then_stop())
    n_states = len(runner.states)
    assert 2 <= n_states < 200, "Run made no progress, or was not stopped"
    assert not runner.running and not runner.finished
    assert runner.slider.max == n_states - 1
    assert not runner.run_button.disabled and runner.stop_button.disabled


def test_run_as_a_task_runs_to_convergence():
    runner = make_runner(speed=30)

    async def run_to_the_end():
        task = runner.run()
        await asyncio.wait_for(task, timeout=60)

    asyncio.run(run_to_the_end())
    assert runner.finished and runner.states[-1].converged
    assert "converged" in readout_text(runner.readout)


# ---------------------------------------------------------------------------
# a real kernel: Run must not freeze it


@pytest.mark.slow
def test_run_leaves_a_real_kernel_responsive_to_stop():
    jupyter_client = pytest.importorskip("jupyter_client")
    pytest.importorskip("ipympl")

    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.kernel_spec.argv[0] = sys.executable  # this environment's Python
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)

        def execute(code, timeout=60):
            reply = client.execute_interactive(code, timeout=timeout, store_history=False,
                                               output_hook=outputs.append)
            assert reply["content"]["status"] == "ok", outputs

        def printed():
            return "".join(m["content"].get("text", "") for m in outputs
                           if m["msg_type"] == "stream")

        def click(model_id):
            content = {"comm_id": model_id,
                       "data": {"method": "custom", "content": {"event": "click"}}}
            client.shell_channel.send(client.session.msg("comm_msg", content))

        outputs = []
        execute("%matplotlib widget\n"
                "from gmm_lab.widgets import LiveRunner\n"
                "runner = LiveRunner(['IY', 'IH', 'EH', 'AE'], n_components=4, speed=20,\n"
                "                    max_iter=500, tol=1e-9)\n"
                "from ipympl.backend_nbagg import Canvas\n"
                "print(isinstance(runner.figure.canvas, Canvas), runner.run_button.model_id,\n"
                "      runner.stop_button.model_id)")
        is_ipympl_canvas, run_id, stop_id = printed().split()
        assert is_ipympl_canvas == "True"  # ipympl's widget canvas

        click(run_id)
        counts = []
        for _ in range(3):
            time.sleep(0.6)
            outputs.clear()
            started = time.monotonic()
            execute("print(len(runner.states), runner.running)", timeout=10)
            assert time.monotonic() - started < 2.0, "the kernel was busy while Run ran"
            n, running = printed().split()
            counts.append(int(n))
            assert running == "True"
        assert counts[0] < counts[1] < counts[2], f"Run did not keep stepping: {counts}"

        click(stop_id)
        time.sleep(0.6)
        outputs.clear()
        execute("print(len(runner.states), runner.running, runner.task.done())")
        n_stopped, running, done = printed().split()
        assert (running, done) == ("False", "True")
        time.sleep(0.5)
        outputs.clear()
        execute("print(len(runner.states), len(runner.errors.outputs))")
        n_later, n_errors = printed().split()
        assert n_later == n_stopped and n_errors == "0"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
