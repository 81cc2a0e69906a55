"""Where the default data format comes from (SPEC 3), read as Keras reads it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConvcalcError
from .layers import DATA_FORMATS


@dataclass(frozen=True)
class DataFormat:
    """The stack's data format and what decided it: ``--data-format``, a keras.json, or the default."""

    value: str
    source: str


def keras_json_path(environ: dict | None = None) -> Path:
    """``$KERAS_HOME/keras.json``, else ``~/.keras/keras.json`` (``/tmp/.keras`` if home is read-only)."""
    environ = os.environ if environ is None else environ
    if "KERAS_HOME" in environ:
        return Path(environ["KERAS_HOME"]).expanduser() / "keras.json"
    home = os.path.expanduser("~")
    base = home if os.access(home, os.W_OK) else "/tmp"
    return Path(base) / ".keras" / "keras.json"


def resolve_data_format(option: str | None, environ: dict | None = None) -> DataFormat:
    """The first that applies: ``--data-format``, ``image_data_format`` in keras.json, channels_last.

    Like Keras, an unreadable or malformed keras.json is ignored; a wrong
    ``image_data_format`` value in it is an error (Keras refuses to start).
    """
    if option is not None:
        value = option.lower()
        if value not in DATA_FORMATS:
            raise ConvcalcError(f"--data-format must be channels_last or channels_first; got {option!r}.")
        return DataFormat(value, "--data-format")
    path = keras_json_path(environ)
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return DataFormat("channels_last", "default")
    if not isinstance(config, dict) or "image_data_format" not in config:
        return DataFormat("channels_last", "default")
    value = config["image_data_format"]
    if value not in DATA_FORMATS:
        raise ConvcalcError(
            f"{path} sets image_data_format to {value!r}; it must be channels_last or channels_first."
        )
    return DataFormat(value, str(path))
