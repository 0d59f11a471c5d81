"""`python -m artkit` runs the same CLI as the `artkit` console script."""

from artkit.cli import main

if __name__ == "__main__":
    main()
