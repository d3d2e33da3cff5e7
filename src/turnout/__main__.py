"""`python -m turnout`: the same as the `turnout` command."""

from __future__ import annotations

from turnout.cli import main

raise SystemExit(main())
