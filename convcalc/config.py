"""Where the default data format comes from (SPEC 3), read as Keras reads it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import reading
from .errors import ConvcalcError
from .layers import DATA_FORMATS


KERAS_JSON_LIMIT = 2**20  # a keras.json holds a few settings


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


def keras_json_name(environ: dict | None = None) -> str:
    """How output names the keras.json read, without the user's home directory in it.

    >>> keras_json_name({"KERAS_HOME": "/home/ada/k"})
    '$KERAS_HOME/keras.json'
    """
    environ = os.environ if environ is None else environ
    if "KERAS_HOME" in environ:
        return "$KERAS_HOME/keras.json"
    home = os.path.expanduser("~")
    return "~/.keras/keras.json" if os.access(home, os.W_OK) else "/tmp/.keras/keras.json"


def resolve_data_format(option: str | None, environ: dict | None = None) -> DataFormat:
    """The first that applies: ``--data-format``, ``image_data_format`` in keras.json, channels_last.

    Like Keras, a missing or malformed keras.json is ignored; a wrong
    ``image_data_format`` value in it is an error (Keras refuses to start), and
    so is a keras.json that is not a regular file or pipe (a directory, a
    device) or is over 1 MiB: it is never waited for or read without end.
    """
    if option is not None:
        value = option.lower()
        if value not in DATA_FORMATS:
            raise ConvcalcError(f"--data-format must be channels_last or channels_first; got {option!r}.")
        return DataFormat(value, "--data-format")
    path = keras_json_path(environ)
    shown = keras_json_name(environ)
    if not os.path.lexists(path):
        return DataFormat("channels_last", "default")
    raw = reading.read_bytes(path, "keras.json file", limit=KERAS_JSON_LIMIT)
    try:
        config = reading.load_json(reading.as_text(raw, shown), shown)
    except ConvcalcError:
        return DataFormat("channels_last", "default")
    if not isinstance(config, dict) or "image_data_format" not in config:
        return DataFormat("channels_last", "default")
    value = config["image_data_format"]
    if value not in DATA_FORMATS:
        shown_value = repr(value) if len(repr(value)) <= 60 else f"a {type(value).__name__}"
        raise ConvcalcError(
            f"{path} sets image_data_format to {shown_value}; it must be channels_last or channels_first."
        )
    return DataFormat(value, shown)
