"""`python -m peacewatch`."""

from peacewatch.cli import main

main()
