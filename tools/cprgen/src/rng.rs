//! The generator's random numbers: xoshiro256** seeded through SplitMix64.
//!
//! The algorithm is written out here (not taken from a crate) so that a seed gives the same
//! bytes for as long as this file is unchanged, whatever dependency versions the workspace
//! moves to. Every stream is derived from `(seed, purpose, index)`, never from thread identity,
//! so output does not depend on how work is spread over threads.

use chrono::{Duration, NaiveDate};

/// A small, fast, reproducible random number generator.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Purposes of independent streams, so that e.g. adding a draw to rendering never shifts the
/// people a batch generates.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    /// The persons of a full-extract batch.
    People = 1,
    /// Rendering details (history rows, addresses) of a full-extract batch.
    Render = 2,
    /// One day of changes.
    Day = 3,
    /// Subscriber sets.
    Subscribers = 4,
}

impl Rng {
    /// The stream for `(seed, purpose, index)`.
    pub fn derive(seed: u64, stream: Stream, index: u64) -> Rng {
        let mut st = seed ^ (stream as u64).wrapping_mul(0xA076_1D64_78BD_642F);
        st = splitmix(&mut st) ^ index.wrapping_mul(0xE703_7ED1_A0B4_28DB);
        let s = [
            splitmix(&mut st),
            splitmix(&mut st),
            splitmix(&mut st),
            splitmix(&mut st),
        ];
        Rng { s }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An approximately normal value (sum of uniforms), for ages and durations.
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let s: f64 = (0..4).map(|_| self.unit()).sum::<f64>() - 2.0;
        mean + sd * s * 1.732
    }

    /// A uniform date in `from..=to`.
    pub fn date(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let days = (to - from).num_days().max(0);
        from + Duration::days(self.range(0, days))
    }

    /// An index drawn with the weights of a cumulative table.
    pub fn weighted(&mut self, cumulative: &[u64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0);
        let x = self.below(total);
        cumulative.partition_point(|&c| c <= x)
    }

    /// Rounds `x` up or down at random so that the expectation is `x` (small runs still see
    /// rare events).
    pub fn round(&mut self, x: f64) -> u64 {
        let floor = x.floor();
        floor as u64 + u64::from(self.chance(x - floor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| Rng::derive(1, Stream::People, 7).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::derive(1, Stream::People, 7).next_u64(),
            Rng::derive(1, Stream::People, 8).next_u64()
        );
        assert_ne!(
            Rng::derive(1, Stream::People, 7).next_u64(),
            Rng::derive(1, Stream::Render, 7).next_u64()
        );
    }

    #[test]
    fn weighted_and_below_stay_in_range() {
        let mut r = Rng::derive(3, Stream::Day, 0);
        let cum = [5, 5, 10];
        let mut seen = [0u32; 3];
        for _ in 0..10_000 {
            seen[r.weighted(&cum)] += 1;
            assert!(r.below(7) < 7);
        }
        assert_eq!(seen[1], 0);
        assert!(seen[0] > 4000 && seen[2] > 4000);
    }
}
