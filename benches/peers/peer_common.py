"""What the DuckDB and the Polars peer share, none of it the engines' work: the command line,
reading the subscriber TOML into columns (one list per subscriber, handed to the engine whole),
the names cprsift gives its files, and writing one subscriber's file with its `.metadata`.

The extract's text is ISO-8859-1. Both engines hold text as UTF-8, so the peers decode Latin-1 on
the way in (every byte is one character) and encode it again on the way out: the bytes round-trip
exactly, and a string's length in characters is the file's length in bytes.
"""

import argparse
import datetime
import hashlib
import json
import os

import rtoml

#: The `.metadata` companion's fields (docs/rules.md §3.5), in cprsift's order.
METADATA_FIELDS = ("subscriber", "file", "proddto", "persons", "records", "bytes",
                   "uncompressed_bytes", "sha256")

#: Largest initial-load shard, bytes (cprsift's default `--shard-size`, 1 GiB).
DEFAULT_SHARD_SIZE = 1 << 30

#: A character that never occurs in an extract: the CSV readers' field separator, so that
#: every line is read as one field.
NO_SEPARATOR = "\x1f"


def arguments(description):
    """The peers' command line: `daily` and `initial` jobs."""
    p = argparse.ArgumentParser(description=description)
    jobs = p.add_subparsers(dest="job", required=True)
    d = jobs.add_parser("daily", help="the weekday delivery (cprsift deliver)")
    d.add_argument("--extract", required=True, help="the day's change extract")
    d.add_argument("--state", required=True,
                   help="an extract holding the replica's state before the day (full.txt)")
    d.add_argument("--subscribers", required=True, help="the subscriber TOML")
    d.add_argument("--outbox", required=True)
    i = jobs.add_parser("initial", help="the initial load (cprsift initial-load)")
    i.add_argument("--state", required=True,
                   help="an extract holding the replica's state (full.txt)")
    i.add_argument("--subscribers", required=True, help="the subscriber TOML")
    i.add_argument("--outbox", required=True)
    i.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE)
    return p.parse_args()


def subscriber_columns(path):
    """The subscribers of a TOML file as columns, one row per subscriber in file order: `sub`
    (its position), `id`, `no_filter`, and list columns `pnr` (10 digits; `DDMMYY-SSSS` is
    normalised by the engines), `municipality` (numbers), `age_start`/`age_end` and
    `change_code`. Municipality codes and age ranges are a handful per subscriber; PNR lists,
    which can hold hundreds of thousands of values, are passed on as the parser made them.
    The parser is rtoml (Rust), about three times faster than the standard library's tomllib
    on a subscriber file with a million PNRs."""
    with open(path, encoding="utf-8") as f:
        subs = rtoml.load(f).get("subscriber", [])
    return {
        "sub": list(range(len(subs))),
        "id": [s["id"] for s in subs],
        "no_filter": [bool(s.get("no_filter", False)) for s in subs],
        "pnr": [s.get("pnr", []) for s in subs],
        "municipality": [[int(m) for m in s.get("municipality", [])] for s in subs],
        "age_start": [[int(a[0]) for a in s.get("age", [])] for s in subs],
        "age_end": [[int(a[1]) for a in s.get("age", [])] for s in subs],
        "change_code": [list(s.get("change_code", [])) for s in subs],
    }


def daily_file_name(proddto, opgavenr):
    """`D<YYMMDD>.L<OPGAVENR>` from PRODDTO as `YYYYMMDD`."""
    return f"D{proddto[2:]}.L{opgavenr}"


def initial_file_name(proddto, opgavenr, shard):
    """`I<YYMMDD>.L<OPGAVENR>.<NNN>` from the replica's date as `YYYYMMDD`."""
    return f"I{proddto[2:]}.L{opgavenr}.{shard:03d}"


def iso_date(yyyymmdd):
    """`YYYY-MM-DD` from `YYYYMMDD`."""
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"


def date_of(yyyymmdd):
    """The date of `YYYYMMDD`."""
    return datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))


def write_file(outbox, subscriber, name, text, proddto, persons, records):
    """Writes one subscriber's file (Latin-1, 0600, folder 0700) and its `.metadata`."""
    folder = os.path.join(outbox, subscriber)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    data = text.encode("latin-1")
    _write(os.path.join(folder, name), data)
    meta = dict(zip(METADATA_FIELDS, (subscriber, name, iso_date(proddto), persons, records,
                                      len(data), len(data), hashlib.sha256(data).hexdigest())))
    _write(os.path.join(folder, name + ".metadata"), json.dumps(meta, indent=2).encode())


def _write(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
