"""`python -m llmeter_trio` is the `llmeter-trio` command."""

import sys

from .cli import main

sys.exit(main())
