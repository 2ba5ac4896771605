"""``python -m doodlekit``: the same as the ``doodlekit`` command."""

from doodlekit.cli import main

raise SystemExit(main())
