"""`python -m compliance.cli …` is the `compliance` command."""
from compliance.cli import main

main()
