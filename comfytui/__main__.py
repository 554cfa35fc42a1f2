"""`python -m comfytui` is the `comfytui` command."""

from comfytui.cli import main

raise SystemExit(main())
