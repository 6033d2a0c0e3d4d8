"""What the `alix` command line shows: the sync's progress and outcome, the first sync's preview.

Pure functions turn the sync's records (a run's per-module progress, its counts, a preview) into
lines, bars and JSON; the displays (Rich on a terminal, plain lines otherwise) only print them.
Only `alix.cli` imports this package.
"""
