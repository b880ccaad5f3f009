"""The ``shooc`` console script (``python -m shooc`` too): the app's command line.

Apart from shooc/cli.py, which only defines the commands that ``create_app``
registers: the script makes the app, so it imports the package, which imports the
commands; the commands never import the app back.
"""
from __future__ import annotations

from flask.cli import FlaskGroup

from shooc import create_app


def main() -> None:
    """Flask's own run/shell/routes are left out so that ``shooc run create`` means the
    run of a course (``flask --app shooc run`` serves)."""
    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False, add_version_option=False,
                     load_dotenv=False, help="shooc: self-paced online courses for teachers.")
    cli.main(prog_name="shooc")


if __name__ == "__main__":
    main()
