"""`python -m components.cli`: the `clerk-hasura` command run by an interpreter rather than the console script."""

import sys

from components.cli.main import main

sys.exit(main())
