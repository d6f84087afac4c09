"""`alertflow`: the command line, a thin face on the core. The commands live beside this file,
grouped as the core is (system, definitions, accounts, cases, importing, compliance); each is one
transaction, and errors print one clear line and exit with status 1, with nothing saved."""
from cli import accounts, cases, compliance, definitions, importing, system  # noqa: F401 (they add their commands)
from cli.app import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
