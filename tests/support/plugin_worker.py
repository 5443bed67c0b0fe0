"""`python -m tests.support.plugin_worker [cara-fed arguments]`: the real `cara-fed` CLI with the test job
kinds registered (see job_plugin.py)."""

from __future__ import annotations

import tests.support.job_plugin  # noqa: F401 - registers the test job kinds
from cara_fed.cli import main

if __name__ == "__main__":
    main()
