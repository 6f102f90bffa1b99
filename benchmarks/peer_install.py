"""Installs the peers benchmarks/peers.py measures lfp beside, into benchmarks/.peers/.

copyparty (with its upload client u2c) goes into a venv of its own, and @tus/server,
@tus/file-store and tus-js-client into an npm folder of their own: none of them is a
dependency of lfp (nothing in pyproject.toml, uv.lock or web/). Versions are pinned so
that figures from different days compare; a folder already holding them is reused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PEERS = Path(__file__).resolve().parent / ".peers"
COPYPARTY = "copyparty==1.20.26"
NODE_PACKAGES = {"@tus/server": "2.4.5", "@tus/file-store": "2.1.1", "tus-js-client": "4.3.1"}


def copyparty_bin() -> Path:
    """The bin folder of a venv holding the pinned copyparty (`copyparty`, `u2c`)."""
    venv = PEERS / "venv"
    stamp = venv / ".installed"
    if stamp.exists() and stamp.read_text() == COPYPARTY:
        return venv / "bin"
    print(f"installing {COPYPARTY} into {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--disable-pip-version-check", COPYPARTY], check=True)
    stamp.write_text(COPYPARTY)
    return venv / "bin"


def node_folder() -> Path:
    """An npm folder holding the pinned @tus/server, @tus/file-store and tus-js-client."""
    folder = PEERS / "node"
    manifest = json.dumps({"private": True, "dependencies": NODE_PACKAGES}, indent=2) + "\n"
    stamp = folder / "node_modules" / ".installed"
    if stamp.exists() and stamp.read_text() == manifest:
        return folder
    print(f"installing {', '.join(NODE_PACKAGES)} into {folder} ...", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(manifest)
    npm = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(npm, cwd=folder, check=True)
    stamp.write_text(manifest)
    return folder
