"""``python -m charlm.report``: build the report (see :mod:`charlm.report.build`)."""

import sys

from .build import main

sys.exit(main())
