"""The live runner in the browser: EM computed in the kernel, each iteration drawn as it arrives.

:class:`LiveRunnerWidget` is the browser viewer (:class:`EMViewerWidget`,
the same ES module) with the runner's controls above it: vowels, speaker
groups, K, covariance type, init, seed, speed, and Step / Run / Stop /
Reset. The kernel computes the states with :func:`gmm_lab.em`; each new
state goes to the browser as one small message (theta_t and L(theta_t),
float64, base64), and the browser appends it to the run it draws. So the
slider, Play, the half-steps and the E- and M-step panels work on the
iterations computed so far, while more arrive.

Run steps in a background thread of the kernel, at the chosen speed; Stop
sets an event the thread checks after every iteration, so it takes effect
within one iteration, and the kernel stays free for other cells meanwhile.

Messages (``model.send`` / ``self.send``)::

    browser -> kernel  {"type": "command", "name": "step" | "run" | "stop" | "reset"}
                       {"type": "run", "means": [[f1, f2], ...]}    placed initial means, then Run
                       {"type": "hello"}                           a view appeared: send what it lacks
    kernel -> browser  {"type": "states", "run_id", "first", "weights", "means",
                        "covariances", "log_likelihoods"}          theta_t for t = first, first + 1, ...
                       {"type": "error", "message"}

The synced ``settings`` trait holds the controls' values (the browser sets
it; a change other than the speed starts a new run), ``status`` what the
buttons need (running, finished, ...), ``payload`` the run as
:func:`gmm_lab.viewer.history_payload` packs it, with a ``run_id``; it is
sent again when a run ends, so a view opened later shows all of it.
"""

from __future__ import annotations

import threading
import uuid
import warnings

import numpy as np
import traitlets

from ..data import SPEAKER_GROUPS, VOWELS, load_vowels
from .._em import COVARIANCE_TYPES, INIT_METHODS, em
from ..states import History
from .colors import colors_from_indices, matched_indices
from .payload import encode_array, history_payload, run_summary
from .widget import MAX_PLACED_MEANS, EMViewerWidget, start_from_means

__all__ = ["LiveRunnerWidget"]

MAX_COMPONENTS = 20
MAX_SPEED = 30


def _state_message(run_id: str, states, first: int) -> dict:
    """States ``first``, ``first + 1``, ... of a run as one message (arrays bit for bit)."""
    return {
        "type": "states",
        "run_id": run_id,
        "first": int(first),
        "weights": encode_array(np.stack([s.weights for s in states])),
        "means": encode_array(np.stack([s.means for s in states])),
        "covariances": encode_array(np.stack([s.covariances for s in states])),
        "log_likelihoods": encode_array(np.array([s.log_likelihood for s in states])),
        "converged": bool(states[-1].converged),
    }


class LiveRunnerWidget(EMViewerWidget):
    """Run EM on the vowels in the kernel and watch each iteration in the browser as it arrives.

    Any change of the settings (other than the speed) starts a new run at
    iteration 0. **Step** computes one more iteration, **Run** keeps
    stepping at ``speed`` iterations per second until EM converges or
    reaches ``max_iter`` (or **Stop**), **Reset** goes back to iteration 0.
    "Place initial means" (on the chart) then "Run EM from these means"
    starts a run from the clicked means (:func:`start_from_means`).
    Finished runs on the same tokens are compared side by side under the
    chart (final L, iterations, the split each found); a new run's
    components take the colours of the previous run's components matched
    to its initial means (the colours must be fixed before the run is
    drawn), see :func:`gmm_lab.viewer.colors.matched_indices`.

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
        Iterations per second while running (1 to 30).
    **options
        Passed to :func:`gmm_lab.viewer.history_payload`: n_std,
        half_steps, color_by, vowel_chart.

    Attributes
    ----------
    states : list of EMState
        The iterations of the current run computed so far, state 0 first.
    notes : dict of int to list of str
        Warnings EM gave, by iteration (shown beside the buttons).
    finished : bool
        True once EM has converged or reached max_iter.
    running : bool
        True while Run is stepping.
    thread : threading.Thread or None
        The thread of the last Run.
    data : VowelData
        The tokens of the current run.
    starts : list of dict
        :func:`gmm_lab.viewer.run_summary` of each finished run on these tokens.
    """

    settings = traitlets.Dict().tag(sync=True)
    status = traitlets.Dict().tag(sync=True)
    choices = traitlets.Dict().tag(sync=True)
    live = traitlets.Bool(True).tag(sync=True)

    def __init__(self, vowels=("IY", "IH"), speakers=None, *, n_components: int = 2,
                 covariance_type: str = "full", init_params: str = "kmeans", seed: int = 0,
                 max_iter: int = 100, tol: float = 1e-3, speed: int = 4, **options):
        self._lock = threading.RLock()
        self._stop_event = threading.Event()
        self.thread = None
        self.running = False
        self.finished = False
        self.states, self.notes, self.starts = [], {}, []
        self._generator = None
        self._run_id = None
        self._run_title = ""
        self._applying = False  # True while the kernel itself writes `settings`
        self._run_options = {"max_iter": max_iter, "tol": tol}
        settings = self._checked_settings({
            "vowels": list(vowels), "speakers": list(speakers or SPEAKER_GROUPS),
            "n_components": n_components, "covariance_type": covariance_type,
            "init_params": init_params, "seed": seed, "speed": speed})
        data = load_vowels(settings["vowels"], settings["speakers"])
        self.data = data
        self._start(settings, data, self._generator_for(settings, data))
        self._run_settings = settings
        history = History(self.states, data.X)
        super().__init__(history, data, max_iter=max_iter, tol=tol, **options)
        self.choices = {
            "vowels": [{"label": v.label, "ipa": v.ipa, "word": v.word} for v in VOWELS],
            "speakers": [[code, name] for code, name in SPEAKER_GROUPS.items()],
            "covariance_types": list(COVARIANCE_TYPES), "init_methods": list(INIT_METHODS),
            "max_components": MAX_COMPONENTS, "max_speed": MAX_SPEED,
        }
        self._applying = True
        self.settings = settings
        self._applying = False
        self._sync_payload()
        self._publish()

    # -- settings -----------------------------------------------------------

    @staticmethod
    def _checked_settings(settings: dict) -> dict:
        """The settings with their types, or a ValueError saying what to change."""
        vowels = [str(v).upper() for v in settings.get("vowels", ())]
        if not vowels:
            raise ValueError("no vowel is selected. Choose at least one (Ctrl-click for several).")
        known = {v.label for v in VOWELS}
        if unknown := [v for v in vowels if v not in known]:
            raise ValueError(f"unknown vowel(s) {unknown}; choose from {sorted(known)}.")
        speakers = [str(s).upper() for s in settings.get("speakers", ())]
        if not speakers:
            raise ValueError("no speaker group is selected. Choose men, women or children.")
        if unknown := [s for s in speakers if s not in SPEAKER_GROUPS]:
            raise ValueError(f"unknown speaker group(s) {unknown}; choose from 'M', 'W', 'C'.")
        n_components = int(settings["n_components"])
        if not 1 <= n_components <= MAX_COMPONENTS:
            raise ValueError(f"K must be between 1 and {MAX_COMPONENTS}; got {n_components}.")
        if settings["covariance_type"] not in COVARIANCE_TYPES:
            raise ValueError(f"covariance type must be one of {COVARIANCE_TYPES}; "
                             f"got {settings['covariance_type']!r}.")
        if settings["init_params"] not in INIT_METHODS:
            raise ValueError(f"init must be one of {INIT_METHODS}; got {settings['init_params']!r}.")
        speed = int(settings.get("speed", 4))
        return {"vowels": vowels, "speakers": speakers, "n_components": n_components,
                "covariance_type": settings["covariance_type"],
                "init_params": settings["init_params"], "seed": int(settings["seed"]),
                "speed": min(max(speed, 1), MAX_SPEED)}

    @traitlets.observe("settings")
    def _on_settings(self, change) -> None:
        if self._applying:
            return
        old, new = dict(change["old"] or {}), dict(change["new"] or {})
        old.pop("speed", None)
        speed_only = {k: v for k, v in new.items() if k != "speed"} == old
        try:
            settings = self._checked_settings(new)
        except (ValueError, KeyError, TypeError) as error:
            self.stop()
            self._publish(error=f"Cannot start EM: {error}", can_step=False)
            return
        if speed_only:
            return
        self.restart(settings)

    def configure(self, **changes) -> None:
        """Change settings as the controls do (``runner.configure(n_components=3)``): a new run."""
        self.settings = {**self.settings, **changes}

    # -- runs ---------------------------------------------------------------

    def _generator_for(self, settings, data, **init):
        return em(data.X, settings["n_components"], covariance_type=settings["covariance_type"],
                  init_params=settings["init_params"], random_state=settings["seed"],
                  max_iter=self._max_iter, tol=self._tol, **init)

    @property
    def _max_iter(self) -> int:
        return self._run_options["max_iter"]

    @property
    def _tol(self) -> float:
        return self._run_options["tol"]

    def _start(self, settings, data, generator, title: str | None = None) -> None:
        """A new run: its first state computed, nothing drawn yet."""
        self.states, self.notes = [], {}
        self.finished = False
        self._generator = generator
        self._run_id = uuid.uuid4().hex[:12]
        self._run_title = title or (
            f"EM on {len(data)} tokens ({', '.join(settings['vowels'])}; "
            f"{', '.join(SPEAKER_GROUPS[s] for s in settings['speakers'])}), "
            f"K = {settings['n_components']}, {settings['covariance_type']} covariances, "
            f"init {settings['init_params']!r}, seed {settings['seed']}")
        self._advance()

    def restart(self, settings=None, *, means=None) -> None:
        """Start a new run at iteration 0 (from placed ``means`` if given), stopping any Run."""
        self.stop()
        if self.thread is not None:
            self.thread.join(timeout=10)
        with self._lock:
            settings = self._checked_settings(settings or self._run_settings)
            same_tokens = (settings["vowels"] == self._run_settings["vowels"]
                           and settings["speakers"] == self._run_settings["speakers"])
            data = self.data if same_tokens else load_vowels(settings["vowels"], settings["speakers"])
            previous = self._history
            title = None
            try:
                if means is not None:
                    weights, means, precisions = start_from_means(data.X, means,
                                                                  settings["covariance_type"])
                    settings = {**settings, "n_components": means.shape[0]}
                    generator = self._generator_for(settings, data, weights_init=weights,
                                                    means_init=means, precisions_init=precisions)
                    title = (f"EM from {means.shape[0]} placed means on {len(data)} tokens, "
                             f"{settings['covariance_type']} covariances")
                else:
                    generator = self._generator_for(settings, data)
                self._start(settings, data, generator, title)
            except ValueError as error:  # e.g. more components than tokens
                self._generator = None
                self.finished = True
                self._publish(error=f"Cannot start EM: {error}", can_step=False)
                return
            if not same_tokens or previous is None:
                self.starts = []
                self._color_indices = list(range(settings["n_components"]))
            else:
                # Colours that stay: each component takes the colour of the previous
                # run's component nearest its initial mean (an assignment on the means).
                self._color_indices = matched_indices(previous.final.means, self._color_indices,
                                                      self.states[0].means)
            self.data = data
            self._data = data
            self._run_settings = settings
            self._applying = True
            self.settings = settings
            self._applying = False
            self._sync_payload()
            self._publish()

    def reset(self) -> None:
        """Back to iteration 0 with the current settings (a new run, same start)."""
        self.restart()

    def run_from_means(self, means) -> None:
        """A new run from placed means (:func:`start_from_means`), then Run."""
        self.restart(means=np.asarray(means, dtype=float))
        if self._generator is not None:
            self.run()

    def _advance(self):
        """Compute the next state; None when EM had finished. Holds the lock."""
        with self._lock:
            if self._generator is None or self.finished:
                return None
            # EM warns when a component collapses; in a widget callback a warning
            # would vanish, so keep it with its iteration for the status line.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    state = next(self._generator)
                except StopIteration:
                    self.finished = True
                    return None
            if caught:
                self.notes[state.iteration] = sorted({str(w.message) for w in caught})
            self.states.append(state)
            # The generator stops after a converged state or at max_iter; knowing it
            # now keeps Step from being offered when nothing more will come.
            if state.converged or state.iteration >= self._max_iter:
                self.finished = True
            return state

    def step(self):
        """Compute one more iteration and send it to the browser.

        Returns
        -------
        EMState or None
            The new state, or None when EM had already finished.
        """
        with self._lock:
            state = self._advance()
            if state is not None:
                self.send(_state_message(self._run_id, [state], len(self.states) - 1))
            if self.finished:
                self._run_ended()
            self._publish()
            return state

    def run(self):
        """Start Run: a background thread steps at ``speed`` until finished or stopped.

        Returns
        -------
        threading.Thread or None
            None when nothing is left to compute or a Run is going on.
        """
        with self._lock:
            if self.running or self.finished or self._generator is None:
                return None
            self._stop_event = threading.Event()
            self.running = True
            self.thread = threading.Thread(target=self._run_loop,
                                           args=(self._stop_event, self._run_id),
                                           name="gmm_lab live runner", daemon=True)
            self._publish()
        self.thread.start()
        return self.thread

    def _run_loop(self, stop: threading.Event, run_id: str) -> None:
        try:
            while not stop.is_set():
                with self._lock:
                    if self._run_id != run_id or self.finished:
                        break
                    self.step()
                stop.wait(1.0 / self.settings.get("speed", 4))
        except Exception as error:  # a thread has nowhere else to say it
            self.send({"type": "error", "message": f"{type(error).__name__}: {error}"})
        finally:
            with self._lock:
                if self._run_id == run_id and self.running:
                    self.running = False
                    self._sync_payload()
                    self._publish()

    def stop(self) -> None:
        """Stop a Run: no iteration starts after this (the one in progress ends)."""
        self._stop_event.set()
        with self._lock:
            if self.running:
                self.running = False
                self._sync_payload()
                self._publish()

    def run_to_end(self) -> None:
        """Compute all remaining iterations now (no drawing in between), then show the run."""
        self.stop()
        if self.thread is not None:
            self.thread.join(timeout=60)
        with self._lock:
            while self._advance() is not None:
                pass
            self._run_ended()
            self._sync_payload()
            self._publish()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the current Run's thread to end (scripts and tests)."""
        if self.thread is not None:
            self.thread.join(timeout)

    def _run_ended(self) -> None:
        """A finished run joins the comparison of starts (once)."""
        if not self.finished or not self.states or any(s.get("run_id") == self._run_id
                                                         for s in self.starts):
            return
        history = History(self.states, self.data.X)
        summary = run_summary(history, colors_from_indices(self._color_indices),
                              f"start {len(self.starts) + 1}: {self._run_title}")
        summary["run_id"] = self._run_id
        self.starts.append(summary)
        self._sync_payload()

    # -- what the browser sees ----------------------------------------------

    @property
    def _history(self):
        return History(self.states, self.data.X) if self.states else None

    @_history.setter
    def _history(self, _value):  # EMViewerWidget.__init__ sets it; the states are the truth
        pass

    def _sync_payload(self) -> None:
        """Send the whole run so far (a view opened later shows all of it)."""
        if not hasattr(self, "_options"):
            return  # during __init__, before the widget exists
        options = {**self._options, "title": self._run_title,
                   "component_colors": colors_from_indices(self._color_indices),
                   "starts": self.starts}
        payload = history_payload(self._history, self.data, **options)
        payload["run_id"] = self._run_id
        ids = [s.get("run_id") for s in self.starts]
        payload["current_start"] = ids.index(self._run_id) if self._run_id in ids else -1
        self._png = None
        self.payload = payload

    def _publish(self, *, error: str = "", can_step: bool | None = None) -> None:
        if not hasattr(self, "_options"):
            return
        if can_step is None:
            can_step = self._generator is not None and not self.finished
        last = self.states[-1] if self.states else None
        if self.running:
            words = "running"
        elif last is not None and last.converged:
            words = f"converged at iteration {last.iteration}"
        elif self.finished and last is not None:
            words = f"stopped at max_iter = {self._max_iter}"
        elif len(self.states) > 1:
            words = "paused: Step or Run carries on"
        else:
            words = ""
        self.status = {
            "run_id": self._run_id, "running": self.running, "finished": self.finished,
            "can_step": bool(can_step), "n_states": len(self.states), "words": words,
            "error": error,
            "notes": {str(t): notes for t, notes in self.notes.items()},
        }

    def _on_message(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict):
            return
        try:
            kind = content.get("type")
            if kind == "command":
                action = {"step": self.step, "run": self.run, "stop": self.stop,
                          "reset": self.reset}.get(content.get("name"))
                if action is None:
                    raise ValueError(f"unknown command {content.get('name')!r}")
                action()
            elif kind == "run":
                means = np.asarray(content.get("means"), dtype=float)
                if means.ndim != 2 or not 1 <= means.shape[0] <= MAX_PLACED_MEANS:
                    raise ValueError(f"place between 1 and {MAX_PLACED_MEANS} means; got "
                                     f"{means.shape[0] if means.ndim == 2 else 0}.")
                self.run_from_means(means)
            elif kind == "hello":
                with self._lock:
                    shown = self.payload.get("n_states", 0)
                    if self.payload.get("run_id") == self._run_id and len(self.states) > shown:
                        self.send(_state_message(self._run_id, self.states[shown:], shown))
        except Exception as error:  # shown in the view: a comm callback has nowhere else to say it
            self.send({"type": "error", "message": f"{type(error).__name__}: {error}"})

    def _repr_mimebundle_(self, **kwargs):
        """The viewer's bundle; a picture only once there is a run to show (two states or more)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None and len(self.states) < 2:
            bundle[0].pop("image/png", None)
        return bundle

    def __repr__(self) -> str:
        settings = self.settings
        return (f"LiveRunnerWidget({', '.join(settings['vowels'])}; {len(self.data)} tokens, "
                f"K = {settings['n_components']}, {settings['covariance_type']} covariances, "
                f"init {settings['init_params']!r}, seed {settings['seed']}; "
                f"{len(self.states)} state{'' if len(self.states) == 1 else 's'} computed)")
