"""``python -m recsys_helpers``: see :mod:`recsys_helpers.cli`."""

from recsys_helpers.cli import main

raise SystemExit(main())
