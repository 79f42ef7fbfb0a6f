"""The notebook widgets, driven from Python as the browser drives them.

``show_history`` and ``LiveRunner`` are anywidgets drawn in the browser
(their browser side is tested in headless Chromium: tests/e2e/). Here the
Python side is driven as the browser would drive it: messages
(``{"type": "command", "name": "step"}``, placed means, "hello") go through
the widget's message handler, and the controls write the synced
``settings``; the messages the kernel sends are recorded. Expected numbers
come from an independent ``run_em`` with the same settings, never from the
widget's own code. The last test starts a real Jupyter kernel and checks
that Run leaves it free to handle Stop.
"""

import itertools
import re
import sys
import time

import numpy as np
import pytest
from matplotlib.colors import to_hex

from gmm_lab.data import load_vowels
from gmm_lab import CollapsedComponentWarning, run_em
from gmm_lab.plotting import component_colors
from gmm_lab.viewer import EMViewerWidget, decode_array
from gmm_lab.widgets import LiveRunner, Scrubber, show_history


@pytest.fixture(scope="module")
def history(data):
    return run_em(data.X, 2, random_state=0, init_params="kmeans")


def make_runner(**settings):
    """A LiveRunner whose messages to the browser are recorded in ``runner.sent``."""
    settings.setdefault("vowels", ("IY", "IH"))
    settings.setdefault("seed", 0)
    runner = LiveRunner(**settings)
    runner.sent = []
    runner.send = lambda content, buffers=None: runner.sent.append(content)
    return runner


def browser_says(runner, content):
    """A message from the browser, as anywidget hands it to the kernel."""
    runner._on_message(runner, content, [])


def click(runner, name):
    browser_says(runner, {"type": "command", "name": name})


def sent_states(runner):
    """theta_t of every state sent so far, by t, decoded from the messages."""
    states = {}
    for message in runner.sent:
        if message["type"] != "states":
            continue
        L = decode_array(message["log_likelihoods"])
        for i in range(L.shape[0]):
            states[message["first"] + i] = (decode_array(message["weights"])[i],
                                            decode_array(message["means"])[i],
                                            decode_array(message["covariances"])[i], L[i])
    return states


# ---------------------------------------------------------------------------
# a finished run


def test_show_history_is_the_browser_viewer_of_the_whole_run(history, data):
    viewer = show_history(history, data, color_by="responsibility")
    assert isinstance(viewer, EMViewerWidget) and Scrubber is EMViewerWidget
    payload = viewer.payload
    assert payload["n_states"] == len(history)
    assert decode_array(payload["means"]).tobytes() == np.stack(
        [s.means for s in history]).tobytes()
    assert payload["options"]["color_by"] == "responsibility"
    assert re.fullmatch(r"EMViewerWidget\(\d+ states, K = 2, 304 tokens, full covariances\)",
                        repr(viewer))


def test_show_history_output_has_fallbacks_for_front_ends_without_widgets(history, data):
    data_bundle, _ = show_history(history, data)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data_bundle
    assert data_bundle["text/html"].startswith("<iframe srcdoc=")  # the offline page
    assert "image/png" in data_bundle  # for renderers that run no scripts


# ---------------------------------------------------------------------------
# live runner: stepping


def test_runner_starts_at_iteration_zero(data):
    runner = make_runner()
    reference = run_em(data.X, 2, random_state=0, init_params="kmeans")
    assert len(runner.states) == 1 and runner.states[0].iteration == 0
    assert runner.payload["n_states"] == 1
    assert repr(runner).endswith("; 1 state computed)")
    np.testing.assert_array_equal(decode_array(runner.payload["means"])[0], reference[0].means)
    status = runner.status
    assert status["can_step"] and not status["running"] and status["n_states"] == 1
    assert runner.settings == {"vowels": ["IY", "IH"], "speakers": ["M", "W", "C"],
                               "n_components": 2, "covariance_type": "full",
                               "init_params": "kmeans", "seed": 0, "speed": 4}


def test_each_step_sends_one_state_bit_for_bit(data):
    runner = make_runner()
    reference = run_em(data.X, 2, random_state=0, init_params="kmeans")
    for n in (1, 2, 3):
        click(runner, "step")
        assert len(runner.states) == n + 1 and runner.status["n_states"] == n + 1
        message = [m for m in runner.sent if m["type"] == "states"][-1]
        assert message["first"] == n and message["run_id"] == runner.payload["run_id"]
    sent = sent_states(runner)
    assert sorted(sent) == [1, 2, 3]
    for t, (weights, means, covariances, L) in sent.items():
        np.testing.assert_allclose(means, reference[t].means, rtol=1e-12)
        np.testing.assert_allclose(covariances, reference[t].covariances, rtol=1e-12)
        np.testing.assert_allclose(weights, reference[t].weights, rtol=1e-12)
        assert means.tobytes() == runner.states[t].means.tobytes()
        np.testing.assert_allclose(L, reference[t].log_likelihood, rtol=1e-12)


def test_a_view_that_appears_late_gets_the_states_it_lacks():
    runner = make_runner()
    for _ in range(3):
        click(runner, "step")
    runner.sent.clear()
    browser_says(runner, {"type": "hello"})  # the payload still holds state 0 only
    assert [m["first"] for m in runner.sent] == [1]
    assert decode_array(runner.sent[0]["log_likelihoods"]).shape == (3,)


def test_run_to_the_end_then_nothing_more(data):
    runner = make_runner(speed=30)
    reference = run_em(data.X, 2, random_state=0, init_params="kmeans")
    click(runner, "run")
    runner.wait(60)
    assert runner.finished and not runner.running
    assert len(runner.states) == len(reference) and runner.states[-1].converged
    np.testing.assert_allclose(runner.states[-1].means, reference[-1].means, rtol=1e-12)
    assert sorted(sent_states(runner)) == list(range(1, len(reference)))  # one by one, live
    assert runner.payload["n_states"] == len(reference)  # the whole run, for a later view
    status = runner.status
    assert not status["can_step"] and not status["running"]
    assert status["words"] == f"converged at iteration {len(reference) - 1}"
    click(runner, "step")  # nothing more to compute
    assert len(runner.states) == len(reference)


def test_stop_takes_effect_within_one_iteration():
    runner = make_runner(vowels=("IY", "IH", "EH", "AE"), n_components=4, speed=30, tol=1e-9,
                         max_iter=500)
    click(runner, "run")
    assert runner.running and runner.status["running"]
    time.sleep(0.4)
    before = len(runner.states)
    click(runner, "stop")
    at_stop = len(runner.states)
    assert at_stop - before <= 1
    runner.wait(5)
    assert not runner.thread.is_alive()
    assert len(runner.states) == at_stop, "a state was computed after Stop returned"
    assert 3 <= at_stop < 500, "Run made no progress, or was not stopped"
    assert not runner.running and not runner.finished
    assert runner.status["can_step"] and not runner.status["running"]
    assert runner.payload["n_states"] == at_stop
    click(runner, "run")  # Run again carries on from there
    time.sleep(0.2)
    click(runner, "stop")
    runner.wait(5)
    assert len(runner.states) > at_stop


def test_reset_starts_again_from_the_same_start():
    runner = make_runner()
    first_id = runner.payload["run_id"]
    first_means = runner.states[0].means
    click(runner, "step")
    click(runner, "step")
    click(runner, "reset")
    assert len(runner.states) == 1 and runner.payload["n_states"] == 1
    assert runner.payload["run_id"] != first_id
    np.testing.assert_array_equal(runner.states[0].means, first_means)


# ---------------------------------------------------------------------------
# live runner: settings


def test_settings_start_a_new_run():
    runner = make_runner()
    click(runner, "step")
    runner.settings = {**runner.settings, "n_components": 3}  # what the K box does
    assert len(runner.states) == 1 and runner.states[0].n_components == 3
    assert runner.payload["n_components"] == 3
    runner.configure(vowels=["IY", "AA", "UW"])
    assert set(runner.data.vowel) == {"IY", "AA", "UW"}
    runner.configure(speakers=["C"])
    assert set(runner.data.speaker_type) == {"C"}
    assert runner.payload["n_samples"] == len(runner.data)
    runner.configure(covariance_type="diag")
    click(runner, "step")
    np.testing.assert_allclose(runner.states[-1].covariances[:, 0, 1], 0.0)


def test_speed_alone_does_not_restart():
    runner = make_runner()
    click(runner, "step")
    run_id = runner.payload["run_id"]
    runner.configure(speed=12)
    assert len(runner.states) == 2 and runner.payload["run_id"] == run_id
    assert runner.settings["speed"] == 12


def test_settings_that_cannot_run_are_explained():
    runner = make_runner()
    runner.configure(vowels=[])
    assert "no vowel is selected" in runner.status["error"]
    assert not runner.status["can_step"]
    runner.configure(vowels=["IY"])
    assert runner.status["error"] == "" and runner.status["can_step"]
    assert set(runner.data.vowel) == {"IY"}
    runner.configure(speakers=[])
    assert "no speaker group" in runner.status["error"]
    with pytest.raises(ValueError, match="no vowel is selected"):
        LiveRunner(vowels=())


def test_em_warnings_are_kept_by_iteration():
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
    assert "collapsed" in " ".join(runner.status["notes"][str(collapsed_at[0])])


# ---------------------------------------------------------------------------
# live runner: placed means, several starts, colours that stay


def test_placed_means_start_a_live_run(data):
    runner = make_runner(speed=30)
    placed = [[300.0, 2300.0], [450.0, 1900.0], [380.0, 2600.0]]
    browser_says(runner, {"type": "run", "means": placed})
    runner.wait(60)
    np.testing.assert_array_equal(runner.states[0].means, placed)
    assert runner.settings["n_components"] == 3 and runner.finished
    assert "3 placed means" in runner.payload["title"]
    # the same run as run_em from the same theta_0
    S = np.cov(data.X.T, bias=True)
    reference = run_em(data.X, 3, init_params="k-means++", weights_init=np.full(3, 1 / 3),
                       means_init=placed,
                       precisions_init=np.tile(np.linalg.solve(S, np.eye(2)), (3, 1, 1)))
    assert len(runner.states) == len(reference)
    np.testing.assert_allclose(runner.states[-1].means, reference.final.means, rtol=1e-9)
    assert sorted(sent_states(runner)) == list(range(1, len(reference)))


def test_placing_too_many_means_is_refused():
    runner = make_runner()
    browser_says(runner, {"type": "run", "means": [[300.0, 2000.0]] * 11})
    assert runner.sent[-1]["type"] == "error" and "between 1 and 10" in runner.sent[-1]["message"]
    assert len(runner.states) == 1


def _nearest_permutation(previous_means, means):
    """Brute force: the matching of components to previous ones with the least squared distance."""
    best = min(itertools.permutations(range(len(means))),
               key=lambda p: sum(((means[j] - previous_means[p[j]]) ** 2).sum()
                                 for j in range(len(means))))
    return best


def test_finished_runs_are_compared_with_colours_kept_across_a_restart():
    runner = make_runner(vowels=("IY", "IH", "EH"), n_components=3)
    runner.run_to_end()
    first_colors = runner.payload["component_colors"]
    first_final = runner.states[-1].means
    assert len(runner.starts) == 1 and runner.payload["current_start"] == 0
    runner.configure(seed=5, init_params="random_from_data")
    # Colours are fixed before the run is drawn: matched on the new initial means.
    match = _nearest_permutation(first_final, runner.states[0].means)
    expected = [first_colors[match[j]] for j in range(3)]
    assert runner.payload["component_colors"] == expected
    assert runner.payload["current_start"] == -1  # the new run is not finished yet
    runner.run_to_end()
    starts = runner.payload["starts"]
    assert len(starts) == 2 and runner.payload["current_start"] == 1
    assert [s["log_likelihood"] for s in starts] == [runner.starts[0]["log_likelihood"],
                                                     runner.states[-1].log_likelihood]
    assert starts[1]["colors"] == expected
    runner.configure(vowels=["AA", "AO"])  # other tokens: nothing to compare with
    assert runner.payload["starts"] == []
    assert runner.payload["component_colors"] == [to_hex(c) for c in component_colors(3)]


# ---------------------------------------------------------------------------
# the fallbacks and the repr


def test_runner_repr_and_fallbacks():
    runner = make_runner()
    click(runner, "step")
    assert repr(runner) == ("LiveRunnerWidget(IY, IH; 304 tokens, K = 2, full covariances, "
                            "init 'kmeans', seed 0; 2 states computed)")
    bundle, _ = runner._repr_mimebundle_()
    assert bundle["text/html"].startswith("<iframe srcdoc=")
    assert "image/png" in bundle
    # iteration 0 alone is no run to picture
    assert "image/png" not in make_runner()._repr_mimebundle_()[0]


# ---------------------------------------------------------------------------
# a real kernel: Run must not freeze it


@pytest.mark.slow
def test_run_leaves_a_real_kernel_responsive_to_stop():
    jupyter_client = pytest.importorskip("jupyter_client")

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

        def command(name):
            content = {"comm_id": model_id,
                       "data": {"method": "custom", "content": {"type": "command", "name": name}}}
            client.shell_channel.send(client.session.msg("comm_msg", content))

        outputs = []
        execute("from gmm_lab.widgets import LiveRunner\n"
                "runner = LiveRunner(['IY', 'IH', 'EH', 'AE'], n_components=4, speed=20,\n"
                "                    max_iter=500, tol=1e-9)\n"
                "print(runner.model_id)")
        model_id = printed().strip()

        command("run")
        counts = []
        for _ in range(3):
            time.sleep(0.6)
            outputs.clear()
            # The kernel answers while Run is still going (running is True and
            # the count grows between answers); the timeout only stops a hang.
            execute("print(len(runner.states), runner.running)", timeout=30)
            n, running = printed().split()
            counts.append(int(n))
            assert running == "True"
        assert counts[0] < counts[1] < counts[2], f"Run did not keep stepping: {counts}"

        command("stop")
        time.sleep(0.6)
        outputs.clear()
        execute("print(len(runner.states), runner.running, runner.thread.is_alive())")
        n_stopped, running, alive = printed().split()
        assert (running, alive) == ("False", "False")
        time.sleep(0.5)
        outputs.clear()
        execute("print(len(runner.states), runner.status['error'] or 'none')")
        n_later, error = printed().split(maxsplit=1)
        assert n_later == n_stopped and error.strip() == "none"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
