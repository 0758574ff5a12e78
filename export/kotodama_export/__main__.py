"""`python -m kotodama_export ...` (what the export/kotodama-export launcher runs)."""

from .cli import main

raise SystemExit(main())
