"""The `clerk-hasura` command (pyproject.toml's console script): deploy a stack, and read or check a deployed one
without running the Pulumi program. One module per subcommand; `stack` is how they all find the stack, its outputs
and its secrets."""
