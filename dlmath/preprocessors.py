"""nbgrader preprocessors of the course, configured in ``nbgrader_config.py`` or by ``dlmath``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Unicode

from dlmath.execution import copy_outputs, execution_key, folder_files


def execute_settings(execute: Execute) -> dict[str, Any]:
    """The ``Execute`` settings a job needs to run a notebook as this preprocessor would."""
    return {"timeout": execute.timeout, "extra_arguments": list(execute.extra_arguments),
            "interrupt_on_timeout": execute.interrupt_on_timeout,
            "raise_on_iopub_timeout": execute.raise_on_iopub_timeout,
            "error_on_timeout": dict(execute.error_on_timeout)}


class CachedExecute(Execute):
    """nbgrader's ``Execute``, which first looks for the notebook already executed by a worker.

    ``dlmath grade`` executes notebooks on workers and stores each result under a digest of
    everything that decides it (``execution.execution_key``). If this notebook's result is
    there, its outputs are used; otherwise (or when ``cache_directory`` is empty, as under
    plain ``nbgrader autograde``) the notebook is executed here, exactly as ``Execute`` does.
    """

    cache_directory = Unicode(
        "", help="Folder of executed notebooks named <execution key>.ipynb; empty: no cache."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None,
                   km: Any = None) -> tuple[NotebookNode, Any]:
        """Fill ``nb``'s outputs from the cache, or execute it."""
        if self.cache_directory:
            folder = Path(resources.get("metadata", {}).get("path") or ".")
            key = execution_key(nb, folder_files(folder), execute_settings(self))
            cached = Path(self.cache_directory) / f"{key}.ipynb"
            if cached.is_file():
                copy_outputs(nbformat.read(cached, as_version=4), nb)
                return nb, resources
        return super().preprocess(nb, resources, km=km)
