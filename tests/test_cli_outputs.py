"""``gmm-lab`` writes its files atomically: whatever fails, the old files stay whole.

Each scenario of the robustness review (2026-11-30, D2) is provoked here: a
folder in the way, an output folder that cannot be made or written (as root,
chmod does not stop us, so a path under a file and an ``open`` that raises
PermissionError stand in for a read-only folder), a disk that fills in the
middle of a file (an ``open`` whose writes fail with ENOSPC, and a real file
size limit in a subprocess), Ctrl-C in the middle of a file (in process and a
real SIGINT). Every time: one line on stderr, a non-zero exit, no traceback,
the old files byte for byte, and no temporary file left behind.
"""

import builtins
import errno
import io
import os
import resource
import signal
import subprocess
import sys
import threading
import time

import pytest

from gmm_lab.cli import GIF_NAME, PNG_NAME, main

OLD_PNG = b"old png, complete"
OLD_GIF = b"old gif, complete"
FAST = ["--max-iter", "2", "--tol", "1", "--n-init", "1", "--no-progress"]  # a short run


@pytest.fixture
def out(tmp_path):
    """An output folder holding the files of an earlier run."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / PNG_NAME).write_bytes(OLD_PNG)
    (folder / GIF_NAME).write_bytes(OLD_GIF)
    return folder


def assert_old_files_intact(folder):
    assert sorted(p.name for p in folder.iterdir()) == [GIF_NAME, PNG_NAME]  # no temp file
    assert (folder / PNG_NAME).read_bytes() == OLD_PNG
    assert (folder / GIF_NAME).read_bytes() == OLD_GIF


def one_error_line(err, *patterns):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gmm-lab: error: "), err
    for pattern in patterns:
        assert pattern in lines[0], err
    assert "Traceback" not in err


class _FailingFile(io.RawIOBase):
    """A file opened for writing whose writes fail after ``limit`` bytes.

    No fileno(), so Pillow and matplotlib write through write() rather than
    straight to the descriptor.
    """

    def __init__(self, handle, limit, exception):
        self.handle, self.limit, self.exception = handle, limit, exception
        self.written = 0

    def writable(self):
        return True

    def seekable(self):
        return self.handle.seekable()

    def seek(self, *args):
        return self.handle.seek(*args)

    def tell(self):
        return self.handle.tell()

    def write(self, data):
        if self.written + len(data) > self.limit:
            self.handle.write(bytes(data)[: self.limit - self.written])  # a partial file on disk
            self.handle.flush()
            raise self.exception
        self.written += len(data)
        return self.handle.write(data)

    def flush(self):
        self.handle.flush()

    def close(self):
        if not self.closed:
            super().close()  # flushes
            self.handle.close()


@pytest.fixture
def failing_writes(monkeypatch):
    """Make writes to files named ``*<suffix>`` in ``folder`` fail mid-file
    (after ``limit`` bytes), or their opening fail (``limit=None``)."""

    def install(folder, suffix, exception, limit=2000):
        real_open = builtins.open
        opened = []

        def fake_open(file, mode="r", *args, **kwargs):
            name = os.fspath(file) if isinstance(file, (str, os.PathLike)) else ""
            if ("w" in mode and str(name).startswith(str(folder))
                    and str(name).endswith(suffix)):
                opened.append(name)
                if limit is None:
                    raise exception
                return _FailingFile(real_open(file, mode, *args, **kwargs), limit, exception)
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", fake_open)
        return opened

    return install


@pytest.mark.parametrize("name", [PNG_NAME, GIF_NAME])
def test_a_folder_in_the_way_is_one_line_before_any_work(tmp_path, name, capsys):
    folder = tmp_path / "out"
    (folder / name).mkdir(parents=True)
    other = GIF_NAME if name == PNG_NAME else PNG_NAME
    (folder / other).write_bytes(b"old")
    assert main(["--out", str(folder)] + FAST) == 1
    one_error_line(capsys.readouterr().err, f"cannot write {folder / name}",
                   "a folder of that name is in the way")
    assert (folder / other).read_bytes() == b"old"
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, other])


def test_a_folder_appearing_at_the_last_moment_leaves_no_partial_file(out, monkeypatch, capsys):
    """The rename itself fails (IsADirectoryError): the temporary files go."""
    real_replace = os.replace

    def replace(source, destination):
        if str(destination).endswith(PNG_NAME):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(destination))
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    assert main(["--out", str(out)] + FAST) == 1
    one_error_line(capsys.readouterr().err, f"cannot write {out / PNG_NAME}: Is a directory")
    assert_old_files_intact(out)


def test_an_output_folder_under_a_file_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main(["--out", str(blocker / "out")] + FAST) == 1
    one_error_line(capsys.readouterr().err, "cannot create the output folder")
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_a_read_only_folder_is_one_line_and_keeps_the_old_files(out, suffix, failing_writes,
                                                                 capsys):
    opened = failing_writes(out, suffix, PermissionError(errno.EACCES, "Permission denied"),
                            limit=None)
    assert main(["--out", str(out)] + FAST) == 1
    assert opened, "the writer never opened a file"
    name = PNG_NAME if suffix == ".png" else GIF_NAME
    one_error_line(capsys.readouterr().err, f"cannot write {out / name}: Permission denied")
    assert_old_files_intact(out)


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_a_disk_that_fills_mid_file_keeps_the_old_files(out, suffix, failing_writes, capsys):
    opened = failing_writes(out, suffix, OSError(errno.ENOSPC, "No space left on device"))
    assert main(["--out", str(out)] + FAST) == 1
    assert opened, "the writer never opened a file"
    name = PNG_NAME if suffix == ".png" else GIF_NAME
    one_error_line(capsys.readouterr().err, f"cannot write {out / name}: No space left on device")
    assert_old_files_intact(out)


def test_ctrl_c_mid_file_exits_130_and_keeps_the_old_files(out, failing_writes, capsys):
    opened = failing_writes(out, ".gif", KeyboardInterrupt())
    assert main(["--out", str(out)] + FAST) == 130
    assert opened
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["gmm-lab: interrupted; no file was written or changed."]
    assert_old_files_intact(out)


@pytest.mark.parametrize("frame", [0, 1])
def test_ctrl_c_while_a_frame_renders_exits_130(out, frame, monkeypatch, capsys):
    """matplotlib's writer still writes the frames so far when one is interrupted
    (the review found a valid-looking GIF of 32 of 121 frames), or raises
    IndexError when there are none; neither may reach the final name or hide
    the interruption."""
    from matplotlib.animation import PillowWriter

    real_grab = PillowWriter.grab_frame
    grabbed = []

    def grab_frame(self, **kwargs):
        if len(grabbed) == frame:
            raise KeyboardInterrupt
        grabbed.append(frame)
        return real_grab(self, **kwargs)

    monkeypatch.setattr(PillowWriter, "grab_frame", grab_frame)
    assert main(["--out", str(out)] + FAST) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["gmm-lab: interrupted; no file was written or changed."]
    assert_old_files_intact(out)


def test_ctrl_c_while_fitting_exits_130(out, monkeypatch, capsys):
    import gmm_lab

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gmm_lab, "em", interrupted)
    assert main(["--out", str(out)] + FAST) == 130
    assert "interrupted; no file was written" in capsys.readouterr().err
    assert_old_files_intact(out)


def test_a_complete_run_replaces_both_files(out, capsys):
    assert main(["--out", str(out)] + FAST) == 0
    assert sorted(p.name for p in out.iterdir()) == [GIF_NAME, PNG_NAME]
    assert (out / PNG_NAME).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / GIF_NAME).read_bytes()[:6] == b"GIF89a"


def _limit_file_size():
    # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG.
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))


def test_a_real_file_size_limit_keeps_the_old_files(out):
    """As the review's `ulimit -f 120`: the PNG (~90 kB) cannot be completed."""
    result = subprocess.run(
        [sys.executable, "-m", "gmm_lab", "--out", str(out)] + FAST,
        capture_output=True, text=True, timeout=300, preexec_fn=_limit_file_size)
    assert result.returncode == 1
    one_error_line(result.stderr, f"cannot write {out / PNG_NAME}: File too large")
    assert_old_files_intact(out)


def test_a_real_sigint_while_the_gif_renders(out):
    """Ctrl-C while the GIF renders: exit 130, old files whole, no temp file."""
    err = bytearray()
    rendering = threading.Event()
    # `with` closes the pipe whatever happens (no unclosed-file warning).
    with subprocess.Popen(
            [sys.executable, "-m", "gmm_lab", "--out", str(out), "--max-iter", "200",
             "--tol", "0", "--n-init", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:

        def read():
            while chunk := process.stderr.read1(4096):
                err.extend(chunk)
                if b"rendering GIF" in err:
                    rendering.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert rendering.wait(timeout=240), bytes(err).decode()
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=120)
        reader.join(timeout=10)
    text = bytes(err).decode()
    assert returncode == 130, text
    assert "Traceback" not in text
    assert text.strip().splitlines()[-1] == "gmm-lab: interrupted; no file was written or changed."
    assert_old_files_intact(out)
