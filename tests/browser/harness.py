"""Reusable helpers for browser tests: a Solara server in a subprocess, and Chromium.

Not a test module. Import from conftest.py or tests:

    from harness import start_solara, launch_chromium

* ``start_solara(app)`` runs ``.venv/bin/solara run <app> --production`` on 127.0.0.1 and a
  free port, offline (assets from the venv's cache, never the CDN) and with telemetry off,
  in its own process group; it returns once the page answers HTTP 200. Use the returned
  ``ServerHandle`` as a context manager, or call ``stop()``.
* ``launch_chromium(playwright)`` launches Debian's /usr/bin/chromium with the flags these
  machines need (``playwright install`` cannot download browsers here).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("REEGAME_VENV", ROOT / ".venv"))
SOLARA = VENV / "bin" / "solara"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOST = "127.0.0.1"

# Environment for any Solara server of this project (see docs/offline.md).
OFFLINE_ENV = {
    # no usage telemetry (mixpanel, and the api.ipify.org look-up it does first)
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    # the browser loads assets from this server's /_solara/cdn/ (the default, except
    # when VSCODE_PID/VSCODE_CWD is set, e.g. in a VS Code terminal)
    "SOLARA_ASSETS_PROXY": "True",
    # a cache miss must never reach the public CDN: this URL cannot be fetched at all
    "SOLARA_ASSETS_CDN": "offline://solara-cdn-disabled/",
}

INSTALL_ASSETS_SCRIPT = ROOT / "scripts" / "install_solara_assets.sh"


class OfflineAssetsMissing(AssertionError):
    """Solara's front-end assets are not installed for offline use."""


def cdn_cache_dir(venv: Path = VENV) -> Path:
    """Where Solara looks for its proxied CDN assets (its ``proxy_cache_dir``)."""
    override = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR")
    return Path(override) if override else venv / "share" / "solara" / "cdn"


def required_assets() -> dict[str, str]:
    """``{"<name>@<version>": "<key file>"}``, read from scripts/install_solara_assets.sh."""
    text = INSTALL_ASSETS_SCRIPT.read_text()
    assets = dict(re.findall(r'^\s*\["([^"]+@[^"]+)"\]="([^"]+)"\s*$', text, re.M))
    if not assets:
        raise RuntimeError(f"no asset list found in {INSTALL_ASSETS_SCRIPT}")
    return assets


def check_offline_assets(venv: Path = VENV) -> None:
    """Raise OfflineAssetsMissing (an AssertionError: tests FAIL) if any asset is missing."""
    cache = cdn_cache_dir(venv)
    missing = [
        f"{spec}/{key}"
        for spec, key in required_assets().items()
        if not (cache / spec / key).is_file()
    ]
    if missing:
        raise OfflineAssetsMissing(
            "Solara's offline browser assets are missing from "
            f"{cache}:\n  " + "\n  ".join(missing) + "\n"
            "Without them the page would need the public CDN, which is unreachable here. "
            "Run scripts/setup.sh (or scripts/install_solara_assets.sh)."
        )


def free_port(host: str = LOCAL_HOST) -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class ServerHandle:
    """A running ``solara run`` subprocess (own process group). Context manager."""

    app: str
    host: str
    port: int
    process: subprocess.Popen
    log_path: Path
    _log_file: Any = field(default=None, repr=False)
    _final_log: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def log_text(self, tail: int = 60) -> str:
        """Return the last ``tail`` lines the server printed (also after ``stop()``)."""
        if self._final_log is not None:
            text = self._final_log
        else:
            try:
                text = self.log_path.read_text(errors="replace")
            except OSError:
                return ""
        return "\n".join(text.splitlines()[-tail:])

    def is_running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the whole process group, then SIGKILL after ``timeout`` seconds."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=timeout)
        else:
            # the leader is gone; make sure nothing it started lingers
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._log_file is not None and not self._log_file.closed:
            self._log_file.close()
        if self._final_log is None:  # keep the log in memory, drop the temp file
            try:
                self._final_log = self.log_path.read_text(errors="replace")
                self.log_path.unlink()
            except OSError:
                pass

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_http_200(handle: ServerHandle, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    last_error: object = None
    while time.monotonic() < deadline:
        if not handle.is_running():
            raise RuntimeError(
                f"solara run {handle.app} exited with code {handle.process.returncode} "
                f"before serving.\n--- server log ---\n{handle.log_text()}"
            )
        try:
            with opener.open(handle.url, timeout=5) as resp:
                if resp.status == 200:
                    return
                last_error = f"HTTP {resp.status}"
        except urllib.error.HTTPError as e:
            last_error = f"HTTP {e.code}"
        except (urllib.error.URLError, OSError) as e:
            last_error = e
        time.sleep(0.2)
    handle.stop()
    raise TimeoutError(
        f"solara run {handle.app} did not answer HTTP 200 at {handle.url} within {timeout:.0f} s "
        f"(last: {last_error}).\n--- server log ---\n{handle.log_text()}"
    )


def start_solara(
    app_module: str,
    port: int | None = None,
    *,
    host: str = LOCAL_HOST,
    timeout: float = 120.0,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    check_assets: bool = True,
) -> ServerHandle:
    """Start ``solara run <app_module>`` in production mode and wait until it serves.

    ``app_module`` is what ``solara run`` takes: a dotted module (``viz.app``), a
    ``module:Component``, or a path to a .py file (relative paths are taken from the
    repository root, which is also the server's working directory).
    """
    if not SOLARA.exists():
        raise FileNotFoundError(f"{SOLARA} not found: run scripts/setup.sh first")
    if check_assets:
        check_offline_assets()
    port = free_port(host) if port is None else port
    env = dict(os.environ)
    env.update(OFFLINE_ENV)
    env.update(
        {
            "VIRTUAL_ENV": str(VENV),
            "PATH": f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    # Solara switches its asset proxy off by default when it thinks it runs in VS Code
    for name in ("VSCODE_PID", "VSCODE_CWD"):
        env.pop(name, None)
    env.update(extra_env or {})
    cmd = [
        str(SOLARA),
        "run",
        app_module,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
        *(extra_args or []),
    ]
    log_fd, log_name = tempfile.mkstemp(prefix="solara-server-", suffix=".log")
    log_file = os.fdopen(log_fd, "w")
    process = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group: stop() signals all of it
    )
    handle = ServerHandle(
        app=app_module,
        host=host,
        port=port,
        process=process,
        log_path=Path(log_name),
        _log_file=log_file,
    )
    try:
        _wait_http_200(handle, timeout)
    except BaseException:
        handle.stop()
        raise
    return handle


def launch_chromium(playwright: Any, **kwargs: Any) -> Any:
    """Launch Debian's Chromium through Playwright (sync or async API object)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"{CHROMIUM} not found: run scripts/install_browser.sh (apt-get install chromium)"
        )
    args = list(CHROMIUM_ARGS) + list(kwargs.pop("args", []))
    kwargs.setdefault("headless", True)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=args, **kwargs)


def is_local_url(url: str) -> bool:
    """True for URLs that stay on this machine's 127.0.0.1 (or carry no host: data:, blob:)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return parts.hostname == LOCAL_HOST


def record_requests(page: Any) -> list[str]:
    """Record the URL of every request (and websocket) the page makes; returns the live list."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda ws: urls.append(ws.url))
    return urls
