"""Build helpers for simtcp in the browser (Pyodide, JupyterLite); not part of the package."""
