//! The statistics the generator draws from: copies of `../shared/data` (municipalities,
//! Greenland and administrative codes, the 2022 age pyramid) embedded at build time, and the
//! name tables of `names.md`. Parsed once.

use std::sync::OnceLock;

/// One municipality (Danish, Greenlandic or administrative pseudo-municipality).
#[derive(Clone, Debug)]
pub struct Municipality {
    /// CPR/DAGI code.
    pub code: u16,
    /// Name, as in the table.
    pub name: String,
    /// Population weight (residents 2022; an assumed share for pseudo-municipalities).
    pub weight: u64,
    /// Synthetic postcode (region ranges; Greenland 39xx).
    pub postnr: u16,
}

/// Every table, parsed.
#[derive(Debug)]
pub struct Tables {
    /// The 98 Danish municipalities (Christiansø left out: not a municipality).
    pub denmark: Vec<Municipality>,
    /// Cumulative weights of `denmark`.
    pub denmark_cum: Vec<u64>,
    /// Current Greenlandic municipalities with a population.
    pub greenland: Vec<Municipality>,
    /// Cumulative weights of `greenland`.
    pub greenland_cum: Vec<u64>,
    /// Administrative pseudo-municipalities 0010/0011/0012/0019 for status 20.
    pub admin: Vec<Municipality>,
    /// Cumulative weights of `admin`.
    pub admin_cum: Vec<u64>,
    /// Residents by single year of age (0..=100, 100 = 100 and over) and sex: cumulative
    /// weights over `age * 2 + female`.
    pub pyramid_cum: Vec<u64>,
}

const MUNICIPALITIES: &str = include_str!("../data/municipalities.tsv");
const GREENLAND: &str = include_str!("../data/greenland.tsv");
const AGE_PYRAMID: &str = include_str!("../data/age_pyramid.tsv");

/// Assumed shares of status-20 persons per pseudo-municipality (no public count exists).
const ADMIN_SHARES: [(u16, u64); 4] = [(10, 10), (11, 50), (12, 25), (19, 15)];

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| l.split('\t').collect())
}

fn cumulative(weights: impl Iterator<Item = u64>) -> Vec<u64> {
    weights
        .scan(0u64, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

/// Synthetic postcodes: each region has a real-looking range; municipalities get evenly
/// spaced codes in table order.
fn postcode(region: u16, rank: u16) -> u16 {
    match region {
        1084 => 1000 + rank * 90,
        1085 => 4000 + rank * 50,
        1083 => 5000 + rank * 90,
        1082 => 7000 + rank * 90,
        _ => 9000 + rank * 80,
    }
}

fn parse() -> Tables {
    let mut denmark = Vec::new();
    let mut rank_in_region = std::collections::HashMap::<u16, u16>::new();
    for r in rows(MUNICIPALITIES) {
        let (Some(code), Some(region), Some(pop)) = (
            r.first().and_then(|c| c.parse::<u16>().ok()),
            r.get(2).and_then(|c| c.parse::<u16>().ok()),
            r.get(4).and_then(|c| c.parse::<u64>().ok()),
        ) else {
            continue;
        };
        let rank = rank_in_region.entry(region).or_default();
        denmark.push(Municipality {
            code,
            name: r.get(1).copied().unwrap_or_default().to_string(),
            weight: pop,
            postnr: postcode(region, *rank),
        });
        *rank += 1;
    }
    let mut greenland = Vec::new();
    let mut admin = Vec::new();
    for r in rows(GREENLAND) {
        let Some(code) = r.first().and_then(|c| c.parse::<u16>().ok()) else {
            continue;
        };
        let name = r.get(1).copied().unwrap_or_default();
        match (r.get(2).copied(), r.get(3).copied()) {
            (Some("greenland_municipality" | "greenland_other"), Some("current")) => {
                if let Some(pop) = r.get(4).and_then(|p| p.parse::<u64>().ok()) {
                    let postnr = 3900 + 10 * greenland.len() as u16;
                    greenland.push(Municipality {
                        code,
                        name: name.to_string(),
                        weight: pop,
                        postnr,
                    });
                }
            }
            (Some("cpr_admin_pseudo_municipality"), _) => {
                let weight = ADMIN_SHARES
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map_or(0, |(_, w)| *w);
                admin.push(Municipality {
                    code,
                    name: name.to_string(),
                    weight,
                    postnr: 0,
                });
            }
            _ => {}
        }
    }
    // Rows are ages 0..=100 ("100+" = 100 and over); the final "total" row is not an age.
    let pyramid: Vec<(u64, u64)> = rows(AGE_PYRAMID)
        .filter(|r| {
            r.first()
                .is_some_and(|a| a.trim_end_matches('+').parse::<u32>().is_ok())
        })
        .filter_map(|r| Some((r.get(1)?.parse().ok()?, r.get(2)?.parse().ok()?)))
        .collect();
    Tables {
        denmark_cum: cumulative(denmark.iter().map(|m| m.weight)),
        greenland_cum: cumulative(greenland.iter().map(|m| m.weight)),
        admin_cum: cumulative(admin.iter().map(|m| m.weight)),
        pyramid_cum: cumulative(pyramid.iter().flat_map(|&(m, f)| [m, f])),
        denmark,
        greenland,
        admin,
    }
}

/// The parsed tables (parsed on first use).
pub fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(parse)
}

impl Tables {
    /// The municipality with `code`, in any of the three lists.
    pub fn municipality(&self, code: u16) -> Option<&Municipality> {
        self.denmark
            .iter()
            .chain(&self.greenland)
            .chain(&self.admin)
            .find(|m| m.code == code)
    }
}

/// Top 50 female first names (DST January 2021) with counts.
pub const FEMALE_NAMES: [(&str, u32); 50] = [
    ("Anne", 44872),
    ("Kirsten", 39076),
    ("Mette", 38524),
    ("Hanne", 37399),
    ("Helle", 33637),
    ("Anna", 33495),
    ("Susanne", 30688),
    ("Lene", 30373),
    ("Maria", 29570),
    ("Marianne", 26542),
    ("Lone", 24882),
    ("Camilla", 24585),
    ("Pia", 23909),
    ("Louise", 23864),
    ("Charlotte", 23652),
    ("Tina", 23119),
    ("Gitte", 22911),
    ("Bente", 22786),
    ("Jette", 22678),
    ("Karen", 22442),
    ("Inge", 22317),
    ("Julie", 21872),
    ("Ida", 21012),
    ("Rikke", 20926),
    ("Emma", 20474),
    ("Sofie", 19089),
    ("Birgit", 18641),
    ("Christina", 18606),
    ("Pernille", 18184),
    ("Marie", 18171),
    ("Laura", 18125),
    ("Inger", 17662),
    ("Birthe", 17242),
    ("Line", 17117),
    ("Ulla", 16750),
    ("Annette", 16606),
    ("Else", 16335),
    ("Heidi", 16288),
    ("Jytte", 15730),
    ("Cecilie", 15370),
    ("Anette", 15247),
    ("Eva", 14878),
    ("Karin", 14698),
    ("Birgitte", 14568),
    ("Lis", 14553),
    ("Dorthe", 14444),
    ("Signe", 14035),
    ("Tove", 14015),
    ("Lisbeth", 13669),
    ("Maja", 13329),
];

/// Top 50 male first names (DST January 2021) with counts.
pub const MALE_NAMES: [(&str, u32); 50] = [
    ("Peter", 47665),
    ("Michael", 44723),
    ("Jens", 44341),
    ("Lars", 44154),
    ("Thomas", 41983),
    ("Henrik", 41689),
    ("Søren", 39862),
    ("Christian", 37669),
    ("Jan", 37253),
    ("Martin", 37112),
    ("Niels", 34126),
    ("Anders", 33830),
    ("Morten", 33825),
    ("Jesper", 33680),
    ("Mads", 32022),
    ("Rasmus", 30396),
    ("Hans", 30319),
    ("Per", 30194),
    ("Jørgen", 30071),
    ("Ole", 29495),
    ("Mikkel", 28941),
    ("Kim", 28762),
    ("Erik", 26818),
    ("John", 25096),
    ("Frederik", 24256),
    ("Jonas", 22889),
    ("Mathias", 22583),
    ("Emil", 22409),
    ("Poul", 21487),
    ("Claus", 21419),
    ("Simon", 20631),
    ("Daniel", 20560),
    ("Jacob", 20275),
    ("Andreas", 19970),
    ("Torben", 19854),
    ("Kasper", 19639),
    ("Flemming", 19453),
    ("Bent", 19158),
    ("Carsten", 18175),
    ("Brian", 18144),
    ("Oliver", 18078),
    ("Magnus", 17102),
    ("Allan", 16839),
    ("Lasse", 16536),
    ("Jakob", 16436),
    ("Kristian", 16017),
    ("Bjarne", 15786),
    ("Sebastian", 15537),
    ("Finn", 15474),
    ("Henning", 15404),
];

/// Surnames: DST 2018 counts for the top 19, then the "Danskernes navne" ranks 20-50 scaled by
/// 0.6 (names.md §3b).
pub const SURNAMES: [(&str, u32); 50] = [
    ("Nielsen", 249088),
    ("Jensen", 247723),
    ("Hansen", 208069),
    ("Pedersen", 157334),
    ("Andersen", 155314),
    ("Christensen", 115998),
    ("Larsen", 112454),
    ("Sørensen", 107446),
    ("Rasmussen", 91963),
    ("Jørgensen", 85855),
    ("Petersen", 76504),
    ("Madsen", 62699),
    ("Kristensen", 59371),
    ("Olsen", 46574),
    ("Thomsen", 38943),
    ("Christiansen", 36069),
    ("Poulsen", 31501),
    ("Johansen", 30671),
    ("Møller", 29886),
    ("Knudsen", 28282),
    ("Mortensen", 27644),
    ("Jacobsen", 24316),
    ("Jakobsen", 23624),
    ("Olesen", 19866),
    ("Frederiksen", 19711),
    ("Mikkelsen", 19664),
    ("Henriksen", 16417),
    ("Laursen", 16132),
    ("Lund", 14065),
    ("Schmidt", 13678),
    ("Eriksen", 13349),
    ("Holm", 12809),
    ("Kristiansen", 12615),
    ("Clausen", 11860),
    ("Simonsen", 11155),
    ("Svendsen", 11071),
    ("Andreasen", 10589),
    ("Iversen", 9530),
    ("Jeppesen", 8769),
    ("Mogensen", 8296),
    ("Jespersen", 7896),
    ("Nissen", 7793),
    ("Lauridsen", 7682),
    ("Frandsen", 7605),
    ("Østergaard", 7547),
    ("Jepsen", 7417),
    ("Kjær", 6751),
    ("Carlsen", 6668),
    ("Vestergaard", 6530),
    ("Jessen", 6440),
];

/// Road name stems and endings; a road's name is a stem and an ending chosen by its code.
pub const ROAD_STEMS: [&str; 32] = [
    "Skov", "Kirke", "Bakke", "Mølle", "Strand", "Eng", "Sø", "Bøge", "Ege", "Birke", "Have",
    "Nørre", "Søndre", "Vester", "Øster", "Stations", "Skole", "Park", "Hoved", "Rosen", "Lærke",
    "Vibe", "Fasan", "Ahorn", "Linde", "Hassel", "Kastanje", "Fjord", "Havne", "Slots", "Kloster",
    "Præste",
];

/// Road name endings.
pub const ROAD_ENDINGS: [&str; 8] = [
    "vej", "gade", "allé", "stræde", "vænget", "parken", "toften", "haven",
];

/// Countries used for foreign-born persons and emigration: CPR authority codes in the
/// 5000-5999 range with names. Codes other than 5100 (Denmark, observed in CPR test data) are
/// synthetic stand-ins: the real country table was not available.
pub const COUNTRIES: [(u16, &str, u64); 10] = [
    (5110, "Norge", 8),
    (5120, "Sverige", 12),
    (5180, "Tyskland", 12),
    (5150, "Polen", 10),
    (5170, "Rumænien", 10),
    (5130, "Storbritannien", 6),
    (5390, "USA", 6),
    (5435, "Tyrkiet", 9),
    (5485, "Syrien", 9),
    (5750, "Ukraine", 18),
];

/// The code of Denmark in the authority register.
pub const DENMARK: u16 = 5100;

/// Cumulative weights over a name table.
pub fn name_cum<const N: usize>(table: &[(&str, u32); N]) -> Vec<u64> {
    cumulative(table.iter().map(|(_, c)| u64::from(*c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_the_expected_shape() {
        let t = tables();
        assert_eq!(t.denmark.len(), 98);
        assert_eq!(t.denmark_cum.last(), Some(&5_860_499));
        assert_eq!(t.greenland.len(), 6);
        assert_eq!(t.admin.len(), 4);
        assert_eq!(t.pyramid_cum.len(), 202);
        assert_eq!(t.pyramid_cum.last(), Some(&5_873_420));
        assert!(t.denmark.iter().all(|m| (1000..10_000).contains(&m.postnr)));
    }
}
