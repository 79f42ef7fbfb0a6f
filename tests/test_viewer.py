"""The browser viewer's Python side: the payload, the offline page, the widget's bundle.

The browser side (scrubbing, the E- and M-step panels against the library's
numbers) is tested in headless Chromium: tests/e2e/test_viewer_page.py.
"""

import json
import re
import warnings

import numpy as np
import pytest

from gmm_lab import load_vowels, run_em
from gmm_lab.plotting import OVER_VOWELS_COLOR, component_colors, vowel_color
from gmm_lab.viewer import decode_array, encode_array, history_payload


@pytest.fixture(scope="module")
def all_tokens():
    return load_vowels()


@pytest.fixture(scope="module")
def big_run(all_tokens):
    """The issue's size case: 100 iterations, K = 10, all 1520 tokens (tol=0: never converges)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning and collapse warnings: expected here
        return run_em(all_tokens.X, 10, init_params="k-means++", random_state=0,
                      max_iter=100, tol=0.0)


@pytest.fixture(scope="module")
def small_run(data):
    return run_em(data.X, 2, init_params="k-means++", random_state=0, max_iter=20)


def test_array_round_trip_is_bit_for_bit():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 4, 2)) * 10.0 ** rng.integers(-300, 300, size=(3, 4, 2))
    packed = encode_array(values)
    assert packed["shape"] == [3, 4, 2] and packed["dtype"] == "float64"
    back = decode_array(json.loads(json.dumps(packed)))
    assert back.dtype == np.float64
    assert back.tobytes() == values.tobytes()
    ids = np.array([1, 10, 5], dtype=np.uint8)
    assert np.array_equal(decode_array(encode_array(ids, "uint8")), ids)


def test_payload_of_the_big_run_fits_in_one_megabyte(big_run, all_tokens):
    assert len(big_run) == 101 and big_run[0].n_components == 10
    payload = history_payload(big_run, all_tokens)
    size = len(json.dumps(payload, separators=(",", ":")))
    print(f"payload of a 100-iteration K=10 run on 1520 tokens: {size} bytes")
    assert size <= 1_000_000
    assert "responsibilities" not in payload  # the browser recomputes them


def test_payload_decodes_to_the_run_bit_for_bit(big_run, all_tokens):
    payload = json.loads(json.dumps(history_payload(big_run, all_tokens)))
    assert decode_array(payload["X"]).tobytes() == np.ascontiguousarray(all_tokens.X).tobytes()
    for name in ("weights", "means", "covariances"):
        expected = np.stack([getattr(state, name) for state in big_run])
        assert decode_array(payload[name]).tobytes() == expected.tobytes(), name
    assert decode_array(payload["log_likelihoods"]).tobytes() == big_run.log_likelihoods.tobytes()
    assert np.array_equal(decode_array(payload["vowel_id"]), all_tokens.vowel_id)
    groups = [code for code, _ in payload["speaker_groups"]]
    decoded_groups = [groups[i] for i in decode_array(payload["speaker_group"])]
    assert decoded_groups == list(all_tokens.speaker_type)
    assert payload["n_states"] == 101 and payload["n_components"] == 10
    assert payload["axis_labels"] == ["F1 (Hz)", "F2 (Hz)"]


def test_payload_colours_are_the_static_figures(big_run, all_tokens):
    import matplotlib.colors

    payload = history_payload(big_run, all_tokens)
    for vowel_id, color in payload["vowel_colors"].items():
        assert np.allclose(matplotlib.colors.to_rgb(color), vowel_color(int(vowel_id)), atol=1 / 255)
    components = [matplotlib.colors.to_rgb(c) for c in payload["component_colors"]]
    assert np.allclose(components, component_colors(10), atol=1 / 255)
    assert np.allclose(matplotlib.colors.to_rgb(payload["over_vowels_color"]),
                       OVER_VOWELS_COLOR, atol=1 / 255)
    # one colour meaning: no component takes a vowel's colour
    assert not set(payload["component_colors"]) & set(payload["vowel_colors"].values())


def test_payload_without_vowel_data(small_run):
    payload = history_payload(small_run)
    assert payload["vowel_id"] is None and payload["speaker_group"] is None
    assert np.array_equal(decode_array(payload["X"]), small_run.X)


def test_payload_rejects_other_data_and_shapes(small_run, all_tokens):
    with pytest.raises(ValueError, match="not the data the run was fitted on"):
        history_payload(small_run, all_tokens)
    with pytest.raises(ValueError, match="color_by must be one of"):
        history_payload(small_run, color_by="speaker")
    with pytest.raises(TypeError, match="History"):
        history_payload(list(small_run))
    X3 = load_vowels(["IY", "IH"], features=("f1", "f2", "f3")).X
    run3 = run_em(X3, 2, init_params="k-means++", random_state=0, max_iter=50)
    with pytest.raises(ValueError, match="two features"):
        history_payload(run3)


def test_page_is_self_contained(small_run, data):
    from gmm_lab.viewer import viewer_html
    from gmm_lab.viewer.page import module_source

    page = viewer_html(small_run, data)
    assert not re.search(r"https?://", page, flags=re.IGNORECASE)  # nothing to fetch
    assert re.search(r"<script[^>]+\bsrc=", page) is None  # every script inline
    assert "export function draw(" in page and "export function render(" in page
    assert page.count("</script>") == 2  # the payload and the module, neither cut short
    assert module_source() in page
    inline = re.search(r'<script type="application/json" id="gmm-em-payload">(.*?)</script>',
                       page, flags=re.DOTALL).group(1)
    payload = json.loads(inline)
    assert decode_array(payload["means"]).tobytes() == np.stack(
        [s.means for s in small_run]).tobytes()


def test_write_viewer_html(tmp_path, small_run, data):
    from gmm_lab.viewer.page import write_viewer_html

    path = write_viewer_html(tmp_path / "run.html", small_run, data)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_widget_sends_the_payload_and_the_module(small_run, data):
    from gmm_lab.viewer import EMViewerWidget
    from gmm_lab.viewer.page import module_source

    widget = EMViewerWidget(small_run, data, fps=8)
    assert widget.payload["n_states"] == len(small_run)
    assert widget.payload["options"]["fps"] == 8.0
    assert str(widget._esm) == module_source()
    # no memory address: strict nbval compares text/plain
    assert repr(widget) == (f"EMViewerWidget({len(small_run)} states, K = 2, {len(data)} tokens, "
                            "full covariances)")


def test_widget_bundle_has_offline_fallbacks(small_run, data):
    import base64
    import html

    from gmm_lab.viewer import EMViewerWidget

    widget = EMViewerWidget(small_run, data)
    bundle, _ = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == repr(widget)
    iframe = bundle["text/html"]
    assert iframe.startswith("<iframe srcdoc=")
    srcdoc = re.search(r'srcdoc="(.*?)"', iframe, flags=re.DOTALL).group(1)
    assert '"' not in srcdoc  # escaped: the attribute is not cut short
    assert html.unescape(srcdoc) == widget.html_page()
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_start_from_means_is_equal_weights_and_the_data_covariance(data):
    from gmm_lab.viewer.widget import start_from_means

    means = [[300.0, 2200.0], [400.0, 2600.0], [350.0, 3000.0]]
    weights, start, precisions = start_from_means(data.X, means)
    assert np.allclose(weights, 1 / 3) and np.array_equal(start, means)
    covariance = np.cov(data.X, rowvar=False, bias=True)  # an independent S
    for precision in precisions:
        np.testing.assert_allclose(precision @ covariance, np.eye(2), atol=1e-12)
    assert start_from_means(data.X, means, "tied")[2].shape == (2, 2)
    np.testing.assert_allclose(start_from_means(data.X, means, "diag")[2],
                               np.tile(1 / np.diag(covariance), (3, 1)), rtol=1e-12)
    np.testing.assert_allclose(start_from_means(data.X, means, "spherical")[2],
                               np.full(3, 1 / np.diag(covariance).mean()), rtol=1e-12)
    with pytest.raises(ValueError, match="means must have shape"):
        start_from_means(data.X, [[1.0, 2.0, 3.0]])


def test_widget_runs_from_placed_means(small_run, data):
    from gmm_lab.viewer import EMViewerWidget

    widget = EMViewerWidget(small_run, data, color_by="vowel")
    sent = []
    widget.send = sent.append  # no kernel comm here: catch what would go to the browser
    placed = [[300.0, 2200.0], [400.0, 2600.0], [350.0, 3000.0]]
    widget._on_message(widget, {"type": "run", "means": placed}, [])
    assert sent == []
    assert widget.history[0].n_components == 3
    assert np.array_equal(widget.history[0].means, placed)
    assert np.array_equal(decode_array(widget.payload["means"])[0], placed)
    assert widget.payload["options"]["color_by"] == "vowel"  # the student's view is kept
    assert "3 placed means" in widget.payload["title"]
    widget._on_message(widget, {"type": "run", "means": []}, [])
    assert sent and sent[0]["type"] == "error" and "between 1 and 10" in sent[0]["message"]


def test_matched_indices_follow_the_components():
    from gmm_lab.viewer.colors import matched_indices

    previous = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    # the same clusters found in another order keep their colours
    assert matched_indices(previous, [0, 1, 2], previous[[2, 0, 1]] + 0.5) == [2, 0, 1]
    assert matched_indices(previous, [4, 0, 7], previous[[2, 0, 1]]) == [7, 4, 0]
    # one more component: the new one takes the smallest unused position
    more = np.vstack([previous[[1, 0, 2]], [[20.0, 20.0]]])
    assert matched_indices(previous, [0, 1, 2], more) == [1, 0, 2, 3]
    # one fewer: each remaining component keeps its partner's position
    assert matched_indices(previous, [0, 1, 2], previous[[2, 1]]) == [2, 1]


def test_colors_from_indices_never_repeat_a_hue():
    from gmm_lab.viewer.colors import colors_from_indices

    pair = [matplotlib_hex(c) for c in component_colors(2)]
    okabe = [matplotlib_hex(c) for c in component_colors(8)]
    assert colors_from_indices([1, 0]) == pair[::-1]  # two components: the blue/orange pair
    assert colors_from_indices([1, 0, 2]) == [okabe[1], okabe[0], okabe[2]]
    assert colors_from_indices([0, 2]) == [okabe[0], okabe[2]]  # not the pair: no index 2 there
    assert len(set(colors_from_indices(list(range(10))))) == 10


def matplotlib_hex(rgb):
    import matplotlib.colors

    return matplotlib.colors.to_hex(rgb)


def test_a_restart_keeps_colours_matched(small_run, data):
    import itertools

    from gmm_lab.viewer import EMViewerWidget

    widget = EMViewerWidget(small_run, data)
    widget.send = lambda message: None
    old_means = small_run.final.means
    old_colors = widget.payload["component_colors"]
    widget._on_message(widget, {"type": "run", "means": old_means[::-1].tolist()}, [])
    new_means = widget.history.final.means
    # the reference: the permutation with the least total squared distance, by brute force
    best = min(itertools.permutations(range(2)),
               key=lambda p: sum(((new_means[j] - old_means[p[j]]) ** 2).sum() for j in range(2)))
    assert best == (1, 0)  # placed in reverse, so the colours must swap: not the default order
    assert widget.payload["component_colors"] == [old_colors[best[j]] for j in range(2)]


def test_several_starts_are_summarised_side_by_side(small_run, data):
    from gmm_lab.viewer import EMViewerWidget

    widget = EMViewerWidget(small_run, data)
    assert widget.payload["starts"] == []  # one run: nothing to compare
    widget.send = lambda message: None
    widget._on_message(widget, {"type": "run", "means": [[300.0, 2200.0], [350.0, 3000.0]]}, [])
    first = widget.history
    widget._on_message(widget, {"type": "run", "means": [[300.0, 2200.0]]}, [])
    starts = widget.payload["starts"]
    assert [s["n_components"] for s in starts] == [2, 2, 1]
    assert starts[0]["log_likelihood"] == small_run.final.log_likelihood
    assert starts[1]["log_likelihood"] == first.final.log_likelihood
    assert starts[2]["log_likelihood"] == widget.history.final.log_likelihood
    assert starts[1]["n_iterations"] == len(first) - 1
    assert np.array_equal(decode_array(starts[1]["means"]), first.final.means)
    assert starts[1]["colors"] == history_payload(first, data, component_colors=starts[1]["colors"])[
        "component_colors"]


def test_start_summaries_match_colours_to_the_kept_run(data):
    from gmm_lab.viewer import start_summaries, viewer_html

    runs = [run_em(data.X, 2, init_params="random", random_state=seed, max_iter=200)
            for seed in range(3)]
    summaries = start_summaries(runs, [f"seed {seed}" for seed in range(3)], reference=1)
    assert [s["title"] for s in summaries] == ["seed 0", "seed 1", "seed 2"]
    assert summaries[1]["colors"] == [matplotlib_hex(c) for c in component_colors(2)]
    kept = runs[1].final.means
    for run, summary in zip(runs, summaries):
        # each component takes the colour of the kept run's component nearest to it
        nearest = [int(np.argmin(((kept - m) ** 2).sum(axis=1))) for m in run.final.means]
        if len(set(nearest)) == 2:
            assert summary["colors"] == [summaries[1]["colors"][i] for i in nearest]
        assert summary["log_likelihood"] == run.final.log_likelihood
    page = viewer_html(runs[1], data, starts=summaries)
    assert "seed 2" in page
