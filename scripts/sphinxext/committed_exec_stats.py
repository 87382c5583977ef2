"""Sphinx extension: fill MyST-NB's execution statistics from the committed notebooks.

The site is built with ``execute_notebooks: "off"`` from outputs that
``scripts/execute_notebooks.py`` committed (and that nbval checks). MyST-NB only fills
its ``{nb-exec-table}`` for notebooks it executed itself, so this extension hands it the
record that the execution script stores in each notebook's metadata under
``tnn_execution``: when it ran, how long it took, the kernel's peak memory and whether it
succeeded. A notebook without that record is left out of the table, never invented.
"""

from __future__ import annotations

from datetime import datetime

from myst_nb.sphinx_ import NbMetadataCollector

METADATA_KEY = "tnn_execution"


def _record_execution(app, doctree) -> None:
    env = app.env
    if env.docname in NbMetadataCollector.get_doc_data(env) and NbMetadataCollector.get_exec_data(
        env, env.docname
    ):
        return  # MyST-NB executed this notebook itself and has the real numbers
    path = env.doc2path(env.docname)
    if not str(path).endswith(".ipynb"):
        return
    import nbformat

    record = nbformat.read(path, as_version=4).metadata.get(METADATA_KEY)
    if not record:
        return
    NbMetadataCollector.set_exec_data(
        env,
        env.docname,
        {
            "mtime": datetime.fromisoformat(record["executed_at"]).timestamp(),
            "runtime": float(record["runtime_s"]),
            "method": f"committed ({record['budget']} budget, peak {record['peak_memory_mb']:.0f} MB)",
            "succeeded": bool(record["succeeded"]),
            "error": None,
            "traceback": None,
        },
    )


def setup(app):
    app.connect("doctree-read", _record_execution)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
