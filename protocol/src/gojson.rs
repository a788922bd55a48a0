//! A minimal JSON writer that reproduces Go's `encoding/json` output byte for
//! byte for the values used in canonical hashes: compact, fields in the order
//! written, HTML-safe escaping of `<`, `>` and `&`, U+2028/U+2029 escaped,
//! `\b` `\f` `\n` `\r` `\t` short escapes and `\u00XX` for other control
//! characters, floats in Go's shortest form.

/// Builds one JSON document into a `String`.
#[derive(Default)]
pub struct GoJson {
    out: String,
    /// Items written so far in each open container.
    counts: Vec<usize>,
    /// The last thing written was an object key; the next value belongs to it.
    after_key: bool,
}

impl GoJson {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn finish(self) -> String {
        self.out
    }

    /// Hands the text written so far to `sink` once it exceeds `threshold`
    /// bytes, then forgets it; for streaming large documents into a hasher.
    pub fn drain_into(&mut self, mut sink: impl FnMut(&str), threshold: usize) {
        if self.out.len() >= threshold {
            sink(&self.out);
            self.out.clear();
        }
    }

    fn prefix(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if let Some(n) = self.counts.last_mut() {
            if *n > 0 {
                self.out.push(',');
            }
            *n += 1;
        }
    }

    pub fn begin_object(&mut self) -> &mut Self {
        self.prefix();
        self.out.push('{');
        self.counts.push(0);
        self
    }

    pub fn end_object(&mut self) -> &mut Self {
        self.counts.pop();
        self.out.push('}');
        self
    }

    pub fn begin_array(&mut self) -> &mut Self {
        self.prefix();
        self.out.push('[');
        self.counts.push(0);
        self
    }

    pub fn end_array(&mut self) -> &mut Self {
        self.counts.pop();
        self.out.push(']');
        self
    }

    /// Writes an object key; the next call writes its value.
    pub fn key(&mut self, k: &str) -> &mut Self {
        self.prefix();
        write_string(&mut self.out, k);
        self.out.push(':');
        self.after_key = true;
        self
    }

    pub fn string(&mut self, s: &str) -> &mut Self {
        self.prefix();
        write_string(&mut self.out, s);
        self
    }

    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.prefix();
        self.out.push_str(if b { "true" } else { "false" });
        self
    }

    pub fn int(&mut self, n: i64) -> &mut Self {
        self.prefix();
        self.out.push_str(&n.to_string());
        self
    }

    pub fn float(&mut self, f: f64) -> &mut Self {
        self.prefix();
        write_float(&mut self.out, f);
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.prefix();
        self.out.push_str("null");
        self
    }

    pub fn field_str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k).string(v)
    }

    pub fn field_bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k).bool(v)
    }

    pub fn field_int(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k).int(v)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Bytes that may need escaping: control characters, `"`, `\\`, `<`, `>`, `&`,
/// and 0xE2 (first byte of U+2028/U+2029).
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[0xe2] = true;
    t
};

/// Appends `s` as a JSON string the way Go's encoder (with HTML escaping) does.
/// Runs of bytes that need no escape are copied in one go.
pub fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !SPECIAL[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        let b = bytes[i];
        let (escape, width): (Option<[u8; 6]>, usize) = match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => {
                let c = match b {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'\n' => b'n',
                    b'\r' => b'r',
                    b'\t' => b't',
                    0x08 => b'b',
                    _ => b'f',
                };
                (Some([b'\\', c, 0, 0, 0, 0]), 1)
            }
            0x00..=0x1f | b'<' | b'>' | b'&' => (
                Some([
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]),
                1,
            ),
            // U+2028 / U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
            0xe2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                let last = if bytes[i + 2] == 0xa8 { b'8' } else { b'9' };
                (Some([b'\\', b'u', b'2', b'0', b'2', last]), 3)
            }
            _ => (None, 1),
        };
        if let Some(e) = escape {
            out.push_str(&s[start..i]);
            let len = if e[2] == 0 { 2 } else { 6 };
            for &c in &e[..len] {
                out.push(char::from(c));
            }
            start = i + width;
        }
        i += width;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends a float as Go's `encoding/json` does: shortest round-trip digits,
/// plain notation for 1e-6 <= |f| < 1e21, otherwise exponent form like `1e-07`.
pub fn write_float(out: &mut String, f: f64) {
    if !f.is_finite() {
        // Go refuses to encode these; canonical inputs never contain them.
        out.push('0');
        return;
    }
    let abs = f.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        out.push_str(&format!("{f}"));
        return;
    }
    // Rust's `{:e}` gives e.g. "1e-7" / "1.5e21"; Go writes "1e-07" / "1.5e+21".
    let s = format!("{f:e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    out.push_str(mant);
    out.push('e');
    out.push(sign);
    if digits.len() < 2 {
        out.push('0');
    }
    out.push_str(digits);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        let mut o = String::new();
        write_string(&mut o, v);
        o
    }

    fn f(v: f64) -> String {
        let mut o = String::new();
        write_float(&mut o, v);
        o
    }

    #[test]
    fn strings_escape_like_go() {
        assert_eq!(s("a<b>&c"), r#""a\u003cb\u003e\u0026c""#);
        assert_eq!(s("q\"\\"), r#""q\"\\""#);
        assert_eq!(s("\n\t\r\u{8}\u{c}\u{1}"), r#""\n\t\r\b\f\u0001""#);
        assert_eq!(s("x\u{2028}y\u{2029}"), r#""x\u2028y\u2029""#);
        assert_eq!(s("café ✓"), "\"café ✓\"");
    }

    #[test]
    fn floats_format_like_go() {
        assert_eq!(f(92.4567), "92.4567");
        assert_eq!(f(92.0), "92");
        assert_eq!(f(0.0), "0");
        assert_eq!(f(-1.5), "-1.5");
        assert_eq!(f(1e-7), "1e-07");
        assert_eq!(f(1.5e21), "1.5e+21");
        assert_eq!(f(123456789.0), "123456789");
    }

    #[test]
    fn structure_is_compact() {
        let mut g = GoJson::new();
        g.begin_object()
            .field_str("a", "x")
            .key("b")
            .begin_array()
            .int(1)
            .null()
            .begin_object()
            .field_bool("c", true)
            .end_object()
            .end_array()
            .key("d")
            .float(2.5)
            .end_object();
        assert_eq!(g.finish(), r#"{"a":"x","b":[1,null,{"c":true}],"d":2.5}"#);
    }
}
