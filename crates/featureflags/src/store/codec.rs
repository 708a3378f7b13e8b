//! The bytes of a user's row: their exposures with variant, allocation period, breakdown
//! segments and per-metric totals, names as numbers from the `names` table. Varints keep
//! a typical user (one experiment, two metrics) under 30 bytes; totals keep their exact
//! bits.

/// One exposure as stored: names as `names.id`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SavedExposure {
    pub(crate) experiment: u32,
    pub(crate) variant: u32,
    pub(crate) segments: Vec<u16>,
    pub(crate) totals: Vec<(u32, f64)>,
    /// The allocation period the user was enrolled in.
    pub(crate) period: u16,
}

/// Format of the row; a later layout gets another number. Layout 1 (schema 1) had no
/// allocation period: its exposures read as period 0.
const LAYOUT: u8 = 2;

pub(crate) fn encode_record(exposures: &[SavedExposure], out: &mut Vec<u8>) {
    out.clear();
    out.push(LAYOUT);
    put(out, exposures.len() as u64);
    for e in exposures {
        put(out, e.experiment.into());
        put(out, e.variant.into());
        put(out, e.period.into());
        put(out, e.segments.len() as u64);
        for s in &e.segments {
            put(out, (*s).into());
        }
        put(out, e.totals.len() as u64);
        for (metric, total) in &e.totals {
            put(out, (*metric).into());
            out.extend_from_slice(&total.to_le_bytes());
        }
    }
}

pub(crate) fn decode_record(bytes: &[u8]) -> Result<Vec<SavedExposure>, String> {
    let mut r = Reader::new(bytes);
    let layout = r.byte()?;
    if layout != LAYOUT && layout != 1 {
        return Err(format!("user row layout {layout} is unknown"));
    }
    let n = r.count()?;
    let mut exposures = Vec::with_capacity(n);
    for _ in 0..n {
        let experiment = r.u32()?;
        let variant = r.u32()?;
        let period = if layout == 1 { 0 } else { r.u16()? };
        let segments = (0..r.count()?).map(|_| r.u16()).collect::<Result<_, _>>()?;
        let totals = (0..r.count()?).map(|_| Ok((r.u32()?, r.f64()?))).collect::<Result<_, String>>()?;
        exposures.push(SavedExposure { experiment, variant, segments, totals, period });
    }
    r.finish()?;
    Ok(exposures)
}

/// LEB128.
pub(crate) fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Eight little-endian bytes: times keep their sign and every bit.
pub(crate) fn put_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(&n.to_le_bytes());
}

pub(crate) fn put_f64(out: &mut Vec<u8>, x: f64) {
    out.extend_from_slice(&x.to_le_bytes());
}

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    /// Whether every byte was read: a row with more is damaged.
    pub(crate) fn finish(&self) -> Result<(), String> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err("row has trailing bytes".into())
        }
    }

    pub(crate) fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.at).ok_or("row ends early")?;
        self.at += 1;
        Ok(b)
    }

    pub(crate) fn varint(&mut self) -> Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("varint too long".into())
    }

    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        u32::try_from(self.varint()?).map_err(|_| "number out of range".to_owned())
    }

    fn u16(&mut self) -> Result<u16, String> {
        u16::try_from(self.varint()?).map_err(|_| "segment or period out of range".to_owned())
    }

    /// A count of items that each take at least a byte, so a corrupt count cannot
    /// reserve more than the row holds.
    pub(crate) fn count(&mut self) -> Result<usize, String> {
        let n = self.varint()?;
        if n > (self.bytes.len() - self.at) as u64 {
            return Err("count exceeds the row".into());
        }
        Ok(n as usize)
    }

    fn eight(&mut self) -> Result<[u8; 8], String> {
        let end = self.at + 8;
        let raw = self.bytes.get(self.at..end).ok_or("row ends early")?;
        self.at = end;
        Ok(raw.try_into().expect("8 bytes"))
    }

    pub(crate) fn f64(&mut self) -> Result<f64, String> {
        self.eight().map(f64::from_le_bytes)
    }

    pub(crate) fn i64(&mut self) -> Result<i64, String> {
        self.eight().map(i64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_exact_totals_and_reject_damage() {
        let exposures = vec![
            SavedExposure {
                experiment: 1,
                variant: 300,
                segments: vec![0, 65535],
                totals: vec![(7, 0.1 + 0.2), (9, -0.0)],
                period: 0,
            },
            SavedExposure {
                experiment: 2,
                variant: 3,
                segments: vec![],
                totals: vec![(u32::MAX, f64::MAX)],
                period: u16::MAX,
            },
        ];
        let mut bytes = Vec::new();
        encode_record(&exposures, &mut bytes);
        let back = decode_record(&bytes).unwrap();
        assert_eq!(back, exposures);
        assert_eq!(back[0].totals[0].1.to_bits(), (0.1f64 + 0.2).to_bits());
        assert_eq!(back[0].totals[1].1.to_bits(), (-0.0f64).to_bits());
        for cut in 0..bytes.len() {
            assert!(decode_record(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_record(&longer).is_err());
    }

    /// A row written by schema 1 (layout 1, no period) reads as period 0.
    #[test]
    fn layout_one_rows_read_as_period_zero() {
        let mut bytes = vec![1, 1, 3, 5, 1, 1, 1, 6];
        bytes.extend_from_slice(&42.5f64.to_le_bytes());
        let back = decode_record(&bytes).unwrap();
        let want = SavedExposure { experiment: 3, variant: 5, segments: vec![1], totals: vec![(6, 42.5)], period: 0 };
        assert_eq!(back, [want]);
    }

    #[test]
    fn a_typical_user_takes_under_thirty_bytes() {
        let one = [SavedExposure {
            experiment: 3,
            variant: 5,
            segments: vec![1],
            totals: vec![(6, 1.0), (7, 42.5)],
            period: 2,
        }];
        let mut bytes = Vec::new();
        encode_record(&one, &mut bytes);
        assert!(bytes.len() < 30, "{} bytes", bytes.len());
    }
}
