"""cprsift's weekday delivery and initial load written with Polars: expressions do the work
(reading the extracts, every filter, the ordering, each file's text); Python parses the
subscriber TOML and writes one file per subscriber. See README.md."""

import polars as pl

import peer_common as pc

#: Records that belong to no person block: start, receipts, the 003 tail, end, errors.
NOT_IN_BLOCKS = ["000", "997", "003", "999", "910"]

line, rt, pnr = pl.col("line"), pl.col("rt"), pl.col("pnr")


def read_lines(path):
    """An extract's lines (ln, rt, pnr, line) in file order, Latin-1 decoded."""
    with open(path, "rb") as f:
        text = f.read().decode("latin-1").encode("utf-8")
    df = pl.read_csv(text, has_header=False, separator=pc.NO_SEPARATOR, quote_char=None,
                     schema={"line": pl.String})
    del text
    return df.with_row_index("ln").with_columns(rt=line.str.slice(0, 3),
                                                pnr=line.str.slice(3, 10))


def municipality(code):
    """A KOMKOD field as a number; 0000 or blank is none."""
    n = code.str.strip_chars().cast(pl.Int32, strict=False)
    return pl.when(n != 0).then(n)


def person_facts(lines, on):
    """One row per person block (consecutive records 001-099 of one PNR): what the filters
    read, with the age in completed years on the date `on`. FOED_DT, when blank, falls back to the PNR's date with the
    century from its seventh digit (spec/CODES.md §14)."""
    r001 = line.filter(rt == "001").first()
    facts = lines.filter(~rt.is_in(NOT_IN_BLOCKS)).group_by("pnr").agg(
        first_ln=pl.col("ln").min(),
        pnrgaeld=r001.str.slice(13, 10),
        status=r001.str.slice(23, 2).cast(pl.Int32, strict=False),
        foed_dt=r001.str.slice(39, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        municipality=municipality(line.filter(rt == "002").first().str.slice(13, 4)),
    )
    s7 = pnr.str.slice(6, 1).cast(pl.Int32, strict=False)
    yy = pnr.str.slice(4, 2).cast(pl.Int32, strict=False)
    century = (pl.when(s7 <= 3).then(1900)
               .when(s7.is_in([4, 9])).then(pl.when(yy <= 36).then(2000).otherwise(1900))
               .when(yy <= 57).then(2000).otherwise(1800))
    from_pnr = ((century + yy).cast(pl.String).str.zfill(4) + pnr.str.slice(2, 2)
                + pnr.str.slice(0, 2)).str.strptime(pl.Date, "%Y%m%d", strict=False)
    birth = pl.coalesce(pl.col("foed_dt"), from_pnr)
    not_yet = (on.month * 100 + on.day) < (birth.dt.month().cast(pl.Int32) * 100
                                          + birth.dt.day().cast(pl.Int32))
    age = on.year - birth.dt.year().cast(pl.Int32) - not_yet.cast(pl.Int32)
    return facts.with_columns(age=pl.when(birth <= pl.lit(on)).then(age)).drop("foed_dt")


def subscriber_frames(path):
    """The subscriber TOML as frames: subs(sub, id, no_filter) and one per filter kind."""
    cols = pc.subscriber_columns(path)
    subs = pl.DataFrame(cols, schema_overrides={
        "pnr": pl.List(pl.String), "municipality": pl.List(pl.Int32),
        "age_start": pl.List(pl.Int32), "age_end": pl.List(pl.Int32),
        "change_code": pl.List(pl.String)})

    def exploded(*columns):
        return subs.select("sub", *columns).explode(*columns).drop_nulls().unique()

    return (subs.select("sub", "id", "no_filter"),
            exploded("pnr").with_columns(pnr.str.replace_all("-", "")),
            exploded("municipality").rename({"municipality": "code"}),
            exploded("age_start", "age_end"),
            exploded("change_code").rename({"change_code": "code"}))


def write_files(files, outbox, name_of, proddto):
    """Writes one file per row of `files` (id, shard, persons, records, text)."""
    for sub_id, shard, persons, records, text in files.iter_rows():
        pc.write_file(outbox, sub_id, name_of(shard), text, proddto, persons, records)


def taeller_text(taeller):
    """TAELLER: the count's last eight digits."""
    return (taeller % 100_000_000).cast(pl.String).str.zfill(8)


def daily(args):
    lines = read_lines(args.extract)
    start = lines.filter(rt == "000")["line"][0]
    end = lines.filter(rt == "999")["line"][0][:13]
    opgavenr, proddto = start[13:19], start[19:27]
    subs, sub_pnr, sub_municipality, sub_age, sub_code = subscriber_frames(args.subscribers)
    day = person_facts(lines, pc.date_of(proddto))
    # The replica's municipality before the day: 002 KOMKOD of the day's PNRs in the state.
    state = read_lines(args.state)
    before = (state.filter(rt == "002").join(day.select("pnr"), on="pnr", how="semi")
              .group_by("pnr").agg(code=municipality(line.first().str.slice(13, 4))))
    del state
    changed = (day.filter((pl.col("status") == 60) & (pl.col("pnrgaeld") != pnr))
               .select("pnr", "pnrgaeld"))
    events = lines.filter(rt == "099").select("pnr", code=line.str.slice(25, 3))
    # Every subscriber's persons (docs/rules.md §2.3-2.4): the union of its filters.
    chosen = pl.concat([
        sub_pnr.join(day.select("pnr"), on="pnr"),
        sub_pnr.join(changed, on="pnr").join(day.select(pnrgaeld="pnr"), on="pnrgaeld")
        .select("sub", pnr="pnrgaeld"),
        sub_municipality.join(day.select("pnr", code="municipality"), on="code")
        .select("sub", "pnr"),
        sub_municipality.join(before, on="code").select("sub", "pnr"),
        sub_age.join_where(day.select("pnr", "age"), pl.col("age") >= pl.col("age_start"),
                           pl.col("age") <= pl.col("age_end")).select("sub", "pnr"),
        sub_code.join(events, on="code").select("sub", "pnr"),
        subs.filter("no_filter").select("sub").join(day.select("pnr"), how="cross"),
    ]).unique()
    # A file: 000, the chosen blocks in input order, their 003 records in tail order (the tail
    # follows the blocks, so file order is both), 999 with TAELLER counted anew.
    body = (chosen.join(lines.filter(~rt.is_in(["000", "997", "999", "910"])), on="pnr")
            .group_by("sub").agg(persons=(rt == "001").sum(), taeller=pl.len(),
                                 text=(line + "\n").sort_by("ln").str.join("")))
    taeller = pl.col("taeller").fill_null(0)
    files = subs.join(body, on="sub", how="left").sort("sub").select(
        "id", shard=pl.lit(1), persons=pl.col("persons").fill_null(0), records=taeller + 2,
        text=pl.concat_str(pl.lit(start + "\n"), pl.col("text").fill_null(""), pl.lit(end),
                           taeller_text(taeller), pl.lit("\n")))
    name = pc.daily_file_name(proddto, opgavenr)
    write_files(files, args.outbox, lambda _: name, proddto)


def initial(args):
    lines = read_lines(args.state)
    start = lines.filter(rt == "000")["line"][0]
    opgavenr, proddto = start[13:19], start[19:27]
    subs, sub_pnr, sub_municipality, sub_age, _ = subscriber_frames(args.subscribers)
    facts = person_facts(lines, pc.date_of(proddto))
    # Each person as the replica stores it (docs/rules.md §5.2): the block without 099 records,
    # 001 cut to the change layout's 106 bytes, then its 003 record(s) apart.
    in_block = ~rt.is_in(["003", "099"])
    stored_line = pl.when(rt == "001").then(line.str.slice(0, 106)).otherwise(line) + "\n"
    stored = (lines.filter(~rt.is_in(["000", "997", "999", "910"]))
              .group_by("pnr").agg(
                  block=stored_line.filter(in_block).str.join(""),
                  block_records=in_block.sum(),
                  address=(line + "\n").filter(rt == "003").str.join(""),
                  address_records=(rt == "003").sum()))
    del lines
    # Who is chosen (docs/rules.md §4.1): PNR (any status), current municipality (any
    # status), age on the replica's date (alive and registered only), no filter (everyone).
    alive = facts.filter(pl.col("status").is_in([1, 3, 5, 7]))
    chosen = pl.concat([
        sub_pnr.join(facts.select("pnr"), on="pnr"),
        sub_municipality.join(facts.select("pnr", code="municipality"), on="code")
        .select("sub", "pnr"),
        sub_age.join_where(alive.select("pnr", "age"), pl.col("age") >= pl.col("age_start"),
                           pl.col("age") <= pl.col("age_end")).select("sub", "pnr"),
        subs.filter("no_filter").select("sub").join(facts.select("pnr"), how="cross"),
    ]).unique()
    # Bytes each chosen person adds to a shard: its block, its A45 line (46), its 003 lines.
    placed = (chosen.join(stored.select("pnr", size=pl.col("block").str.len_chars() + 46
                                        + pl.col("address").str.len_chars()), on="pnr")
              .sort("sub", "pnr")
              .with_columns(cum=pl.col("size").cum_sum().over("sub")))
    placed = assign_shards(placed, args.shard_size, len(start) + 1 + 22)
    # The replica writes its own 000: ten zeros, OPGAVENR, PRODDTO, zeros as PRODDTOFORRIG;
    # after each block a 099 A45 at the replica's date, 00:00.
    start = f"000{'0' * 10}{opgavenr}{proddto}{'0' * 8}"
    a45 = f"{proddto}0000A45{' ' * 17}\n"
    body = (placed.select("sub", "shard", "pnr").join(stored, on="pnr").sort("pnr")
            .group_by("sub", "shard").agg(
                persons=pl.len(),
                taeller=(pl.col("block_records") + 1 + pl.col("address_records")).sum(),
                blocks=pl.concat_str("block", pl.lit("099"), "pnr", pl.lit(a45)).str.join(""),
                addresses=pl.col("address").str.join("")))
    taeller = pl.col("taeller").fill_null(0)
    files = subs.join(body, on="sub", how="left").sort("sub", "shard").select(
        "id", shard=pl.col("shard").fill_null(1), persons=pl.col("persons").fill_null(0),
        records=taeller + 2,
        text=pl.concat_str(pl.lit(start + "\n"), pl.col("blocks").fill_null(""),
                           pl.col("addresses").fill_null(""), pl.lit("9999999999999"),
                           taeller_text(taeller), pl.lit("\n")))
    write_files(files, args.outbox,
                lambda shard: pc.initial_file_name(proddto, opgavenr, shard), proddto)


def assign_shards(placed, shard_size, overhead):
    """Fills shards in PNR order until the next person would not fit (docs/rules.md §4.3):
    one step per shard number, each placing every subscriber's next shard at once."""
    placed = placed.with_columns(shard=pl.lit(None, pl.Int32))
    shard = 0
    while placed["shard"].null_count():
        shard += 1
        open_ = pl.col("shard").is_null()
        base = placed.filter(open_).group_by("sub").agg(base=(pl.col("cum") - pl.col("size"))
                                                        .min())
        placed = (placed.join(base, on="sub", how="left")
                  .with_columns(shard=pl.when(open_ & (overhead + pl.col("cum") - pl.col("base")
                                                       <= shard_size))
                                .then(pl.lit(shard, pl.Int32)).otherwise("shard"))
                  .drop("base"))
        served = placed.filter(pl.col("shard") == shard).select("sub").unique()
        stuck = placed.filter(pl.col("shard").is_null()).join(served, on="sub", how="anti")
        if stuck.height or served.is_empty():
            raise SystemExit("a person is larger than the shard size")
    return placed


def main():
    args = pc.arguments(__doc__)
    {"daily": daily, "initial": initial}[args.job](args)


if __name__ == "__main__":
    main()
