"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smki.profiles.kinds import Environment

HomeOption = Annotated[
    Path, typer.Option("--home", envvar="SMKI_HOME", help="The smki home folder.")
]
EnvOption = Annotated[
    Environment | None,
    typer.Option("--env", help="test or live; needed only when the home holds both."),
]
