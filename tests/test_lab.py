"""The homework workflow, live: `make lab` starts JupyterLab, a notebook opens through it with
a real kernel, its setup cell and a checker cell run, and the server shuts down.

The server is the documented command itself (``make lab``, with ``LAB_ARGS`` for a free
local port, a token and no browser). The notebook is opened as the browser opens it, by
creating a session through the server's REST API; its kernel is then driven over the
connection file the server wrote, with the same messages the browser sends. Within a minute.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request

import nbformat
import pytest
from jupyter_client import BlockingKernelClient

from conftest import CHAPTERS, ROOT

pytestmark = pytest.mark.standalone


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base, token, path, method="GET", body=None):
    request = urllib.request.Request(
        f"{base}{path}", method=method, headers={"Authorization": f"token {token}",
                                                   "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        text = response.read().decode()
    return json.loads(text) if text else None


def _run_cell(kc, source, timeout=120):
    outputs = []

    def keep(msg):
        if msg["msg_type"] == "stream":
            outputs.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            outputs.append("\n".join(msg["content"]["traceback"]))

    reply = kc.execute_interactive(source, timeout=timeout, output_hook=keep)
    assert reply["content"]["status"] == "ok", "".join(outputs)[-3000:]
    return "".join(outputs)


def test_make_lab_opens_a_notebook_and_runs_its_setup_and_a_checker(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    runtime = tmp_path / "runtime"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["JUPYTER_RUNTIME_DIR"] = str(runtime)
    lab_args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
                f"--ServerApp.port_retries=0 --IdentityProvider.token={token}")
    server = subprocess.Popen(["make", "lab", f"LAB_ARGS={lab_args}"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    start = time.monotonic()
    kc = None
    try:
        while True:  # wait for the server to answer
            try:
                _api(base, token, "/api/status")
                break
            except OSError:
                assert server.poll() is None, f"make lab exited: {server.stdout.read()[-3000:]}"
                assert time.monotonic() - start < 60, "JupyterLab did not answer within 60 s"
                time.sleep(0.5)
        session = _api(base, token, "/api/sessions", "POST", {
            "path": "00_tools.ipynb", "name": "00_tools.ipynb", "type": "notebook",
            "kernel": {"name": "python3"}})
        kernel_id = session["kernel"]["id"]
        kc = BlockingKernelClient()
        kc.load_connection_file(str(runtime / f"kernel-{kernel_id}.json"))
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        nb = nbformat.read(CHAPTERS / "00_tools.ipynb", as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        assert _run_cell(kc, code[0]) == ""  # the setup cell: utils installed, nothing to say
        _run_cell(kc, code[1])  # the imports
        checker = next(s for s in code if "check_one_hot(one_hot)" in s)
        assert _run_cell(kc, checker).strip() == "one_hot | not attempted yet"
        assert _run_cell(kc, "import os; print(os.environ['ATEN_CPU_CAPABILITY'])").strip() == "avx2"
        _api(base, token, f"/api/sessions/{session['id']}", "DELETE")
        _api(base, token, "/api/shutdown", "POST")
        server.wait(timeout=30)
    finally:
        if kc is not None:
            kc.stop_channels()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    assert time.monotonic() - start < 60
