//! One colour per engine, the same in every chart of every run: a fixed
//! colour for each engine kvlab knows, and for any other name a colour
//! chosen by a hash of the name (stable across runs and builds).

use plotters::style::RGBColor;

/// Fixed colours: ours in strong blue, orange and green; peers in red,
/// purple, brown, pink, grey; harness engines in olive and teal.
const KNOWN: [(&str, RGBColor); 10] = [
    ("bitcask", RGBColor(31, 119, 180)),
    ("lsm", RGBColor(255, 127, 14)),
    ("btree", RGBColor(44, 160, 44)),
    ("redb", RGBColor(214, 39, 40)),
    ("fjall", RGBColor(148, 103, 189)),
    ("lmdb", RGBColor(140, 86, 75)),
    ("sled", RGBColor(227, 119, 194)),
    ("rocksdb", RGBColor(127, 127, 127)),
    ("memory", RGBColor(188, 189, 34)),
    ("null", RGBColor(23, 190, 207)),
];

/// Colours for names not in the fixed table.
const SPARE: [RGBColor; 6] = [
    RGBColor(57, 59, 121),
    RGBColor(99, 121, 57),
    RGBColor(140, 109, 49),
    RGBColor(132, 60, 57),
    RGBColor(123, 65, 115),
    RGBColor(82, 84, 163),
];

/// The colour of `engine` (by name: the same in every chart).
pub fn engine_color(engine: &str) -> RGBColor {
    if let Some((_, c)) = KNOWN.iter().find(|(name, _)| *name == engine) {
        return *c;
    }
    // FNV-1a 64 of the name: fixed, unlike std's randomly seeded hasher.
    let hash = engine.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    SPARE[(hash % SPARE.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_known_engine_has_its_own_colour() {
        for (i, (a, ca)) in KNOWN.iter().enumerate() {
            assert_eq!(engine_color(a), *ca);
            for (b, cb) in &KNOWN[i + 1..] {
                assert_ne!(ca, cb, "{a} and {b} share a colour");
            }
        }
    }

    #[test]
    fn an_unknown_engine_always_gets_the_same_colour() {
        assert_eq!(engine_color("lsm-tiered"), engine_color("lsm-tiered"));
        assert!(SPARE.contains(&engine_color("lsm-tiered")));
    }
}
