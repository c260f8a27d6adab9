//! The `cprgen` command line: a thin shell over the library (see README.md).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use cprgen::{FullConfig, PersonLayout, Preset};

/// Deterministic synthetic CPR data: full extracts, daily change extracts, subscriber sets.
#[derive(Parser)]
#[command(name = "cprgen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum PresetArg {
    Tiny,
    Small,
    Full,
}

#[derive(Clone, Copy, ValueEnum)]
enum LayoutArg {
    U12180,
    U12170,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a full extract.
    Full {
        /// Named size (tiny 1,000; small 100,000; full 10.5 million persons).
        #[arg(long, value_enum, conflicts_with = "persons")]
        preset: Option<PresetArg>,
        /// Any number of persons.
        #[arg(long)]
        persons: Option<u64>,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (written atomically, mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// 001 layout: u12180 (status extract, 121 bytes) or u12170 (106 bytes).
        #[arg(long, value_enum, default_value = "u12180")]
        layout: LayoutArg,
        /// 000 OPGAVENR.
        #[arg(long, default_value_t = cprgen::FullConfig::persons(1, 1).opgavenr)]
        opgavenr: u32,
        /// 000 PRODDTO (YYYY-MM-DD).
        #[arg(long, default_value = "2022-05-12")]
        proddto: NaiveDate,
    },
    /// Writes consecutive daily change extracts continuing a full extract.
    Days {
        /// The full extract to continue.
        #[arg(long)]
        full: PathBuf,
        /// Number of consecutive weekdays.
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder (created 0700); files D<YYMMDD>.L<OPGAVENR>.
        #[arg(long)]
        out_dir: PathBuf,
        /// Make the last day a mass-change day (a municipal merger).
        #[arg(long)]
        spike: bool,
        /// OPGAVENR of the change extracts.
        #[arg(long, default_value_t = cprgen::DayConfig::new(PathBuf::new(), PathBuf::new()).opgavenr)]
        opgavenr: u32,
    },
    /// Writes a subscriber set (TOML) drawn from a full extract.
    Subscribers {
        /// The full extract to draw PNRs from.
        #[arg(long)]
        full: PathBuf,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of subscribers (at least one per municipality plus the other kinds).
        #[arg(long, default_value_t = 350)]
        subscribers: u32,
        /// Output file (TOML).
        #[arg(long)]
        out: PathBuf,
    },
}

fn run(cli: Cli) -> cprgen::Result<()> {
    match cli.command {
        Command::Full {
            preset,
            persons,
            seed,
            out,
            layout,
            opgavenr,
            proddto,
        } => {
            let persons = match (preset, persons) {
                (_, Some(n)) => n,
                (Some(PresetArg::Tiny), None) => Preset::Tiny.persons(),
                (Some(PresetArg::Small), None) | (None, None) => Preset::Small.persons(),
                (Some(PresetArg::Full), None) => Preset::Full.persons(),
            };
            let mut cfg = FullConfig::persons(persons, seed);
            cfg.layout = match layout {
                LayoutArg::U12180 => PersonLayout::U12180,
                LayoutArg::U12170 => PersonLayout::U12170,
            };
            cfg.opgavenr = opgavenr;
            cfg.proddto = proddto;
            cfg.spill_dir = out.parent().map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            });
            let s = cprgen::write_atomically(&out, |f| cprgen::generate_full(&cfg, f))?;
            println!(
                "{}: {} persons, {} records (TAELLER), {} bytes",
                out.display(),
                s.persons,
                s.records,
                s.bytes
            );
            if s.taeller_overflow {
                println!(
                    "  TAELLER holds the last eight digits of {} (more than 8 digits)",
                    s.records
                );
            }
            for (status, n) in &s.status_counts {
                println!("  status {status:02}: {n}");
            }
        }
        Command::Days {
            full,
            days,
            seed,
            out_dir,
            spike,
            opgavenr,
        } => {
            let mut cfg = cprgen::DayConfig::new(full, out_dir);
            cfg.days = days;
            cfg.seed = seed;
            cfg.spike = spike;
            cfg.opgavenr = opgavenr;
            for d in cprgen::generate_days(&cfg)? {
                println!(
                    "{}: PRODDTO {} (previous {}), {} persons, {} events, {} records (TAELLER), {} bytes",
                    d.path.display(), d.proddto, d.proddto_forrig, d.persons, d.events, d.records, d.bytes
                );
            }
        }
        Command::Subscribers {
            full,
            seed,
            subscribers,
            out,
        } => {
            let mut cfg = cprgen::SubscriberConfig::new(full, out.clone());
            cfg.seed = seed;
            cfg.subscribers = subscribers;
            let s = cprgen::generate_subscribers(&cfg)?;
            println!(
                "{}: {} subscribers, {} PNRs in lists, {} bytes",
                out.display(),
                s.subscribers,
                s.pnrs,
                s.bytes
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cprgen: {e}");
            ExitCode::FAILURE
        }
    }
}
