"""Start the app server: offline assets, no telemetry, bound to 127.0.0.1 by default."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import webbrowser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = "viz.app:Page"

#: Environment for every Solara server of this project (docs/offline.md).
OFFLINE_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",  # no mixpanel, no api.ipify.org look-up
    "SOLARA_ASSETS_PROXY": "True",  # the page loads its assets from this server only
    "SOLARA_ASSETS_CDN": "offline://solara-cdn-disabled/",  # a cache miss never leaves the machine
}


def command(host: str = "127.0.0.1", port: int = 8765) -> list[str]:
    """Return the ``solara run`` command line of the app."""
    solara = Path(sys.executable).with_name("solara")
    exe = [str(solara)] if solara.exists() else [sys.executable, "-m", "solara"]
    return [
        *exe,
        "run",
        APP,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]


def environment() -> dict[str, str]:
    """Return this environment with telemetry off and assets served offline."""
    env = dict(os.environ)
    env.update(OFFLINE_ENV)
    env.setdefault("VIRTUAL_ENV", sys.prefix)  # where Solara looks for its cached assets
    for name in ("VSCODE_PID", "VSCODE_CWD"):  # these switch Solara's asset proxy off
        env.pop(name, None)
    pythonpath = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{pythonpath}" if pythonpath else str(ROOT)
    return env


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False) -> int:
    """Run the app until interrupted; return the server's exit code."""
    url = f"http://{host}:{port}/"
    print(f"reegame app: {url}  (offline assets, telemetry off; Ctrl-C to stop)", flush=True)
    if host not in ("127.0.0.1", "localhost"):
        print(f"warning: listening on {host}, reachable from other machines", flush=True)
    process = subprocess.Popen(command(host, port), cwd=ROOT, env=environment())
    if threading.current_thread() is threading.main_thread():  # never orphan the server
        signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    if open_browser:
        webbrowser.open(url)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()


if __name__ == "__main__":
    raise SystemExit(serve())
