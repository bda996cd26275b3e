//! CPython's `random` module as far as the authors' loaders use it: `random.seed(n)` with an
//! integer and `random.shuffle(list)` (Python 3.11; the algorithm is unchanged since 3.2).
//!
//! The generator is MT19937 seeded by `init_by_array` with the 32-bit words of `|n|`, least
//! significant first (rand_mt's `new_with_key`); `shuffle` is Fisher-Yates from the end,
//! each index drawn by `_randbelow`: `k = n.bit_length()` bits from `getrandbits`, redrawn
//! until below `n`.

use rand_mt::Mt;

/// The state of CPython's `random` after `random.seed(seed)`.
pub struct PythonRandom {
    mt: Mt,
}

impl PythonRandom {
    /// `random.seed(seed)` for an `int` seed.
    pub fn seed(seed: i64) -> Self {
        let magnitude = seed.unsigned_abs();
        let (low, high) = (magnitude as u32, (magnitude >> 32) as u32);
        let key: Vec<u32> = if high == 0 { vec![low] } else { vec![low, high] };
        Self { mt: Mt::new_with_key(key) }
    }

    /// `random.getrandbits(bits)` for `1 <= bits <= 64`: whole 32-bit words from the least
    /// significant end, the last one cut to its top bits.
    pub fn getrandbits(&mut self, bits: u32) -> u64 {
        assert!((1..=64).contains(&bits), "getrandbits: 1 to 64 bits, not {bits}");
        if bits <= 32 {
            return (self.mt.next_u32() >> (32 - bits)) as u64;
        }
        let low = self.mt.next_u32() as u64;
        let high = (self.mt.next_u32() >> (64 - bits)) as u64;
        low | (high << 32)
    }

    /// `random._randbelow(n)`: uniform in `0..n` by rejection (`n >= 1`).
    fn randbelow(&mut self, n: u64) -> u64 {
        let bits = u64::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(bits);
            if r < n {
                return r;
            }
        }
    }

    /// `random.shuffle(items)`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.randbelow(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values printed by CPython 3.11.7 on this machine:
    // python3 -c 'import random; random.seed(123); print([random.getrandbits(32) for _ in range(3)])
    //   random.seed(-5); print(random.getrandbits(40))
    //   random.seed(2**40+7); x=list(range(10)); random.shuffle(x); print(x)'
    // (the long shuffles are checked against ../shared/golden/preprocessing in tests/).

    #[test]
    fn the_first_words_after_seed_123_are_cpythons() {
        let mut random = PythonRandom::seed(123);
        let draws: Vec<u64> = (0..3).map(|_| random.getrandbits(32)).collect();
        assert_eq!(draws, [224899942, 1149664691, 374463918]);
    }

    #[test]
    fn negative_seeds_and_draws_wider_than_a_word() {
        assert_eq!(PythonRandom::seed(-5).getrandbits(40), 281848216645);
    }

    #[test]
    fn a_seed_wider_than_a_word_shuffles_as_cpython() {
        let mut items: Vec<usize> = (0..10).collect();
        PythonRandom::seed((1 << 40) + 7).shuffle(&mut items);
        assert_eq!(items, [0, 5, 2, 3, 6, 1, 8, 4, 7, 9]);
    }
}
