//! featureflags' bucketing hash on x86-64 CPUs with the SHA extensions: one SHA-256
//! block compressed with the message and the state in registers from start to end.
//!
//! `sha2::compress256` takes the block and the state through memory: the block's words,
//! built in registers, are stored and loaded back, the state is shuffled into the
//! instructions' order and out again, and the caller reads the digest's first words back
//! from memory. In a bucketing call those steps sit on the compression's chain of
//! dependent rounds, before the first round and after the last. Here the initial state
//! is a constant already in the instructions' order, the message is built by the caller's
//! code inlined into the function compiled for the SHA extensions, and the digest's first
//! eight bytes are one lane of the final state.
//!
//! The core crate forbids `unsafe`; calling code compiled for CPU features that are
//! checked at run time needs it, so that call lives here, behind a safe function.
//! `sha2` remains the reference: the tests compare blocks of every message length with it.

/// The digest's first eight bytes (as a big-endian integer) of the one-block SHA-256
/// message that `message` returns: the padded 64-byte block as eight little-endian
/// words. `message` runs inside the function compiled for the SHA extensions, so its
/// words go to the compression in registers. `None`, without calling `message`, when the
/// CPU lacks the extensions (or off x86-64, or under Miri): then compress with `sha2`.
#[inline]
pub fn one_block_head(message: impl FnOnce() -> [u64; 8]) -> Option<u64> {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if x86::available() {
        // SAFETY: the CPU has every feature `head_of` is compiled for, checked just above.
        return Some(unsafe { x86::head_of(message) });
    }
    let _ = message;
    None
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
mod x86 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_extract_epi64, _mm_set_epi32, _mm_set_epi64x,
        _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi32, _mm_shuffle_epi8,
    };

    /// SHA-256's initial state (FIPS 180-4 §5.3.3).
    const H0: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

    /// The round constants (FIPS 180-4 §4.2.2), eight to a row as the standard prints them.
    #[rustfmt::skip]
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    /// Whether this CPU has the SHA extensions and SSE4.1 (std caches the answer).
    #[inline(always)]
    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("sha") && std::arch::is_x86_feature_detected!("sse4.1")
    }

    /// [`head`] of the words `message` returns, built in this function so that they stay
    /// in registers.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) fn head_of(message: impl FnOnce() -> [u64; 8]) -> u64 {
        head(message())
    }

    /// The round constants of group `g` (rounds `4g..4g + 4`), as the instructions take them.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn k(g: usize) -> __m128i {
        _mm_set_epi32(K[4 * g + 3] as i32, K[4 * g + 2] as i32, K[4 * g + 1] as i32, K[4 * g] as i32)
    }

    /// The digest's first eight bytes of the one-block message `words`.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) fn head(words: [u64; 8]) -> u64 {
        // Each 32-bit lane byte-swapped: the message's words are big-endian.
        let big_endian = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
        let load = |i: usize| _mm_shuffle_epi8(_mm_set_epi64x(words[i + 1] as i64, words[i] as i64), big_endian);
        // The message schedule's last four groups of four words, group g in w[g % 4].
        let mut w = [load(0), load(2), load(4), load(6)];
        // The state as the round instruction holds it: lanes (F, E, B, A) and (H, G, D, C).
        let h = H0.map(|x| x as i32);
        let initial_abef = _mm_set_epi32(h[0], h[1], h[4], h[5]);
        let (mut abef, mut cdgh) = (initial_abef, _mm_set_epi32(h[2], h[3], h[6], h[7]));
        // Written out group by group, each group's rounds followed by the schedule group
        // four ahead, rather than as a loop: the rounds and the schedule share the CPU's
        // shuffle port, and the oldest ready instruction is issued first, so the order
        // here is the order the rounds are served in. (As two loops, schedule first, a
        // call took 3 ns longer than through `sha2`.)
        macro_rules! rounds {
            ($g:expr) => {{
                let sum = _mm_add_epi32(w[$g % 4], k($g));
                cdgh = _mm_sha256rnds2_epu32(cdgh, abef, sum);
                abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(sum, 0x0e));
            }};
        }
        macro_rules! schedule {
            ($g:expr) => {{
                let (a, b, c, d) = (w[$g % 4], w[($g + 1) % 4], w[($g + 2) % 4], w[($g + 3) % 4]);
                let sigma0 = _mm_sha256msg1_epu32(a, b);
                w[$g % 4] = _mm_sha256msg2_epu32(_mm_add_epi32(sigma0, _mm_alignr_epi8(d, c, 4)), d);
            }};
        }
        macro_rules! rounds_then_schedule {
            ($($g:expr),*) => {$( rounds!($g); schedule!($g); )*};
        }
        rounds_then_schedule!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        rounds!(12);
        rounds!(13);
        rounds!(14);
        rounds!(15);
        // A and B, the digest's first eight bytes, are the upper lanes of (F, E, B, A).
        _mm_extract_epi64(_mm_add_epi32(abef, initial_abef), 1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The padded one-block message of `input` (at most 55 bytes) as little-endian words.
    fn block_words(input: &[u8]) -> [u64; 8] {
        let mut block = [0u8; 64];
        block[..input.len()].copy_from_slice(input);
        block[input.len()] = 0x80;
        block[56..].copy_from_slice(&(input.len() as u64 * 8).to_be_bytes());
        std::array::from_fn(|i| u64::from_le_bytes(block[8 * i..8 * i + 8].try_into().unwrap()))
    }

    fn reference(words: [u64; 8]) -> u64 {
        let mut block = sha2::digest::generic_array::GenericArray::default();
        for (i, word) in words.iter().enumerate() {
            block[8 * i..8 * i + 8].copy_from_slice(&word.to_le_bytes());
        }
        let mut state =
            [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
        sha2::compress256(&mut state, std::slice::from_ref(&block));
        (u64::from(state[0]) << 32) | u64::from(state[1])
    }

    #[test]
    fn heads_equal_sha2_for_messages_of_every_length_and_any_block() {
        // This test runs where CI runs; say so when the CPU cannot exercise the fast path.
        let Some(_) = one_block_head(|| [0; 8]) else {
            eprintln!("this CPU has no SHA extensions: only the fallback (None) is checked");
            assert_eq!(one_block_head(|| unreachable!("not called without the extensions")), None);
            return;
        };
        let bytes: Vec<u8> = (0..55u8).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
        for n in 0..=55 {
            let words = block_words(&bytes[..n]);
            assert_eq!(one_block_head(|| words), Some(reference(words)), "message of {n} bytes");
        }
        // Arbitrary blocks (not padded messages) too: every bit of every word is used.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2_000 {
            let words: [u64; 8] = std::array::from_fn(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            });
            assert_eq!(one_block_head(|| words), Some(reference(words)));
        }
    }

    #[test]
    fn the_empty_message_hashes_to_its_known_digest() {
        // SHA-256("") = e3b0c442 98fc1c14 …
        if let Some(head) = one_block_head(|| block_words(b"")) {
            assert_eq!(head, 0xe3b0_c442_98fc_1c14);
        }
    }
}
