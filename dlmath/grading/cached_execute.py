"""``CachedExecute``: ``SafeExecute`` that takes the outputs a ``dlmath grade`` worker made."""

from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from traitlets import Unicode

from dlmath.grading.workers import copy_outputs, execution_key
from dlmath.preprocessors.execute import SafeExecute, execute_settings, folder_files


class CachedExecute(SafeExecute):
    """``SafeExecute`` that first looks for the notebook already executed by a worker.

    ``dlmath grade`` executes notebooks on workers and stores each result under a digest of
    everything that decides it (``execution.execution_key``). If this notebook's result is
    there, its outputs and findings are used; otherwise (or when ``cache_directory`` is empty,
    as under plain ``nbgrader autograde``) the notebook is executed here.
    """

    cache_directory = Unicode(
        "", help="Folder of executed notebooks named <execution key>.ipynb; empty: no cache."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None,
                   km: Any = None) -> tuple[NotebookNode, Any]:
        """Fill ``nb``'s outputs from the cache, or execute it."""
        if self.cache_directory:
            folder = Path(resources.get("metadata", {}).get("path") or ".")
            key = execution_key(nb, folder_files(folder), execute_settings(self),
                                self.variant_key(nb, resources))
            cached = Path(self.cache_directory) / f"{key}.ipynb"
            if cached.is_file():
                copy_outputs(nbformat.read(cached, as_version=4), nb)
                return nb, resources
        return super().preprocess(nb, resources, km=km)
