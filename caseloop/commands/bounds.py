"""Bounds on what the command line takes in: input files (size, encoding, CSV fields), `--limit` and `--within`.

A value out of bounds is refused before anything is asked of the door or the store: exit 2, naming the field and
the rule, as every rejection does.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from pathlib import Path

from caseloop.errors import InputRejected

# An input file (a command's fields, a batch of events, a registry table, a calendar) is far smaller than this;
# a bigger one is a mistake, and reading it whole would only cost memory.
MOST_FILE_BYTES = 16 * 1024 * 1024
# The most values (scalars, lists, mappings) a parsed input file may hold. YAML aliases repeat a value in place, so
# a small file can stand for billions of them; a command's fields or a batch of events hold far fewer than this.
MOST_FILE_VALUES = 1_000_000
# The most a list answers at once: the front door's own bound on `limit` (workers/door/routes).
MOST_LISTED = 1000
# The highest transition seq a timeline is asked after: the door's own bound on `after_seq`.
MOST_SEQ = 2**31
# `--within` longer than a day is no deadline anyone means; "no limit" is not offered on the command line.
MOST_WITHIN = 24 * 3600.0


def read_text(path: str | Path, field: str) -> str:
    """The text of an input file: at most MOST_FILE_BYTES of UTF-8 (a byte order mark is dropped).

    Refuses a bigger file (rule `file.size`) or bytes that are not UTF-8 (rule `file.encoding`, with the line);
    `OSError` (no such file, a directory, no permission) is the caller's to say.
    """
    with open(path, "rb") as stream:  # read at most one byte past the bound: a FIFO has no size to ask
        data = stream.read(MOST_FILE_BYTES + 1)
    if len(data) > MOST_FILE_BYTES:
        raise InputRejected(
            f"{field}: {path} is larger than {MOST_FILE_BYTES // (1024 * 1024)} MiB",
            rule="file.size",
            field=field,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputRejected(
            f"{field}: {path}: line {line}: not UTF-8 text (byte 0x{data[error.start]:02x})",
            rule="file.encoding",
            field=field,
        ) from None


def check_values(data: object, path: str | Path, field: str) -> None:
    """Refuses parsed input holding more than MOST_FILE_VALUES values, each alias counted where it is used."""
    pending, counted = [data], 0
    while pending:
        value = pending.pop()
        counted += 1
        if counted > MOST_FILE_VALUES:
            raise InputRejected(
                f"{field}: {path} holds more than {MOST_FILE_VALUES:,} values (YAML aliases count where used)",
                rule="file.size",
                field=field,
            )
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def check_csv(text: str, path: str | Path, field: str) -> None:
    """Refuses a CSV table Python's csv module cannot read: a field over its size limit, a stray quote or NUL."""
    reader = csv.reader(io.StringIO(text))
    try:
        for _ in reader:
            pass
    except csv.Error as error:
        rule = "csv.field-size" if "field limit" in str(error) else "csv.syntax"
        reason = (
            f"a field is longer than {csv.field_size_limit()} characters" if rule == "csv.field-size" else str(error)
        )
        raise InputRejected(f"{field}: {path}: line {reader.line_num}: {reason}", rule=rule, field=field) from None


def listed(text: str) -> int:
    """`--limit`: how many a list answers, 1 to MOST_LISTED (the door's bound)."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (rule limit.range, field limit)") from None
    if not 1 <= count <= MOST_LISTED:
        raise argparse.ArgumentTypeError(
            f"{count} is out of range: give 1 to {MOST_LISTED} (rule limit.range, field limit)"
        )
    return count


def after(text: str) -> int:
    """`--after`: a transition's seq, 0 to MOST_SEQ (the door's bound)."""
    try:
        seq = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (rule after.range, field after)") from None
    if not 0 <= seq <= MOST_SEQ:
        raise argparse.ArgumentTypeError(f"{seq} is out of range: give 0 to {MOST_SEQ} (rule after.range, field after)")
    return seq


def within(text: str) -> float:
    """`--within`: how many seconds to wait, above 0 and at most a day; never negative, NaN or infinite."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds (rule within.range, field within)"
        ) from None
    if not (math.isfinite(seconds) and 0 < seconds <= MOST_WITHIN):
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range: give seconds above 0, at most {MOST_WITHIN:g} (rule within.range, field within)"
        )
    return seconds
