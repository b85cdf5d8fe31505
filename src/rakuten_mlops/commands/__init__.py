"""The command modules of the `rakuten-mlops` CLI, one per area."""
