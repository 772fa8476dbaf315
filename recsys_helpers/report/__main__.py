"""``python -m recsys_helpers.report``: the report pipeline's command line."""

import sys

from recsys_helpers.report.build import main

sys.exit(main())
