//! Small helpers from Kafka's `org.apache.kafka.common.utils` (`Sanitizer`,
//! for user and client names in znode paths) and Java behaviour whose output
//! Kafka's tools and znodes show: `Double.toString` and the iteration order
//! of a `java.util.HashMap`.

use crate::common::java_string_hash;

/// Kafka's `Sanitizer.sanitize`: URL-encoding (UTF-8, upper-case hex) of
/// everything but `A-Za-z0-9._-`, for user and client names in znode paths.
pub fn sanitize(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Kafka's `Sanitizer.desanitize` (URL decoding).
pub fn desanitize(name: &str) -> String {
    let b = name.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Java's `Double.toString`: plain decimal with at least one fraction digit
/// for magnitudes in [10^-3, 10^7), else computerized scientific notation
/// (`1.048576E7`); the shortest digits that read back to the same value.
pub fn java_double_to_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let a = v.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') { mantissa.to_string() } else { format!("{mantissa}.0") };
        format!("{mantissa}E{exp}")
    }
}

/// The order in which a `java.util.HashMap` created with `new HashMap<>(capacity)`
/// (`None`: the no-argument constructor) iterates `keys` inserted in the
/// given order, given each key's `hashCode`: by bucket (`(h ^ h >>> 16) &
/// (table size - 1)`), then insertion order within a bucket. Returns
/// indices into `keys`.
pub fn java_hash_map_order(hashes: &[i32], capacity: Option<usize>) -> Vec<usize> {
    // HashMap.tableSizeFor and the resizes while inserting.
    let mut cap: usize = match capacity {
        None => 16,
        Some(c) => c.max(1).next_power_of_two(),
    };
    let threshold = |cap: usize| ((cap as f32) * 0.75) as usize;
    let mut size = 0;
    for _ in hashes {
        size += 1;
        if size > threshold(cap) {
            cap *= 2;
        }
    }
    let spread = |h: i32| ((h ^ ((h as u32) >> 16) as i32) as u32 as usize) & (cap - 1);
    let mut idx: Vec<usize> = (0..hashes.len()).collect();
    idx.sort_by_key(|&i| (spread(hashes[i]), i));
    idx
}

/// `String.hashCode` of a possibly null string (`Objects.hashCode`).
pub fn java_nullable_string_hash(s: Option<&str>) -> i32 {
    s.map_or(0, java_string_hash)
}

/// `AbstractMap.hashCode` of a `Map<String, String>`: the sum of each
/// entry's `key.hashCode() ^ value.hashCode()`.
pub fn java_string_map_hash<'a>(entries: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> i32 {
    entries.into_iter().fold(0i32, |acc, (k, v)| acc.wrapping_add(java_string_hash(k) ^ java_nullable_string_hash(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizer() {
        assert_eq!(sanitize("user 1*@x"), "user%201%2A%40x");
        assert_eq!(desanitize("user%201%2A%40x"), "user 1*@x");
        assert_eq!(desanitize("é%"), "é%");
        assert_eq!(desanitize("%é"), "%é");
        assert_eq!(desanitize("a%4"), "a%4");
        assert_eq!(desanitize("a%41"), "aA");
        assert_eq!(sanitize("<default>"), "%3Cdefault%3E");
    }

    #[test]
    fn double_to_string_like_java() {
        assert_eq!(java_double_to_string(1048576.0), "1048576.0");
        assert_eq!(java_double_to_string(1e7), "1.0E7");
        assert_eq!(java_double_to_string(10485760.0), "1.048576E7");
        assert_eq!(java_double_to_string(50.5), "50.5");
        assert_eq!(java_double_to_string(0.001), "0.001");
        assert_eq!(java_double_to_string(0.0001), "1.0E-4");
        assert_eq!(java_double_to_string(200.0), "200.0");
        assert_eq!(java_double_to_string(0.0), "0.0");
        assert_eq!(java_double_to_string(-3.0), "-3.0");
    }

    #[test]
    fn hash_map_order() {
        // Java: a HashMap of "b", "a", "c" iterates a, b, c ("a".hashCode() = 97: bucket 1).
        let keys = ["b", "a", "c"];
        let hashes: Vec<i32> = keys.iter().map(|k| java_string_hash(k)).collect();
        assert_eq!(java_hash_map_order(&hashes, None), vec![1, 0, 2]);
        // 97 and 113 share bucket 1 of 16: insertion order
        assert_eq!(java_hash_map_order(&[113, 97], None), vec![0, 1]);
        // small capacities grow as Java's do: 1 → 2 → 4 for three entries
        assert_eq!(java_hash_map_order(&[0, 1, 2, 3], Some(1)), vec![0, 1, 2, 3]);
        assert_eq!(java_hash_map_order(&[3, 2, 1, 0], Some(4)), vec![3, 2, 1, 0]);
        assert_eq!(java_hash_map_order(&[16, 1], None), vec![0, 1]);
        assert_eq!(java_hash_map_order(&[17, 1], None), vec![0, 1], "same bucket: insertion order");
    }
}
