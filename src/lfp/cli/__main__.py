"""`python -m lfp.cli`: the same as the `lfp` command."""

from lfp.cli import main

main()
