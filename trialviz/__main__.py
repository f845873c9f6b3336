"""``python -m trialviz`` runs the command line."""

from trialviz.cli import main

raise SystemExit(main())
