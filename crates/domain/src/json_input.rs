//! Rules for JSON bodies that a type's own deserialisation does not catch,
//! applied to every API body (`ApiJson` in the server): a key repeated in
//! one object, a number that cannot be stored as written, text that the two
//! storage engines cannot store alike. Pure functions over bytes, so they
//! are fuzzed with the webhook mappers (`examples/fuzz.rs`).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

/// The first problem in a syntactically valid JSON document that its type
/// may not catch: a repeated key, a number that underflows, unstorable text.
/// Returns the dotted path and the message.
pub fn check_tree(bytes: &[u8]) -> Option<(String, String)> {
    let underflows = underflowing_numbers(bytes);
    let mut walk = Walk {
        path: String::new(),
        number: 0,
        underflows: &underflows,
        problem: None,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde::de::DeserializeSeed::deserialize(&mut walk, &mut de) {
        Ok(()) => None,
        Err(e) => Some(
            walk.problem
                .take()
                .unwrap_or_else(|| (String::new(), format!("malformed JSON: {e}"))),
        ),
    }
}

/// The indices (in document order, counting every number) of the numbers
/// in `bytes` that are not zero as written but become zero, or a subnormal,
/// as a 64-bit float. `bytes` is a valid JSON document.
fn underflowing_numbers(bytes: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let (mut i, mut index) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let token = std::str::from_utf8(&bytes[start..i]).unwrap_or("0");
                let mantissa = token.split(['e', 'E']).next().unwrap_or("");
                let written_non_zero = mantissa.bytes().any(|b| matches!(b, b'1'..=b'9'));
                let parsed = token.parse::<f64>().unwrap_or(0.0);
                if written_non_zero && (parsed == 0.0 || parsed.is_subnormal()) {
                    found.push(index);
                }
                index += 1;
            }
            _ => i += 1,
        }
    }
    found
}

/// Walks a document as serde_json reads it, keeping the path.
struct Walk<'a> {
    path: String,
    number: usize,
    underflows: &'a [usize],
    problem: Option<(String, String)>,
}

impl Walk<'_> {
    fn fail<E: serde::de::Error>(&mut self, message: String) -> E {
        let e = E::custom(&message);
        self.problem = Some((self.path.clone(), message));
        e
    }

    fn number<E: serde::de::Error>(&mut self) -> Result<(), E> {
        let index = self.number;
        self.number += 1;
        if self.underflows.binary_search(&index).is_ok() {
            return Err(self.fail(
                "is too small a number to store: it would be stored as 0 or lose its precision (magnitudes below 2.2250738585072014e-308); send 0 or a larger value".into(),
            ));
        }
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for &mut Walk<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for &mut Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.number()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.number()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.number()
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        match check_storable(v) {
            Ok(()) => Ok(()),
            Err(message) => Err(self.fail(message)),
        }
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let len = self.path.len();
            self.path.push_str(&format!("[{i}]"));
            let more = seq.next_element_seed(&mut *self)?;
            self.path.truncate(len);
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let len = self.path.len();
            if !self.path.is_empty() {
                self.path.push('.');
            }
            self.path.push_str(&key);
            if let Err(message) = check_storable(&key) {
                return Err(self.fail(message));
            }
            if !seen.insert(key.clone().into_owned()) {
                return Err(
                    self.fail("appears twice in the same object; send each key once".to_owned())
                );
            }
            map.next_value_seed(&mut *self)?;
            self.path.truncate(len);
        }
        Ok(())
    }
}

/// Refuses text that the two engines cannot store alike: NUL characters
/// (PostgreSQL rejects them) and dates or times outside the years 0000–9999
/// (PostgreSQL rejects some; SQLite keeps times as text, where they would sort
/// out of order).
pub fn check_storable(text: &str) -> Result<(), String> {
    if text.contains('\0') {
        return Err("must not contain NUL characters".to_owned());
    }
    if date_year(text).is_some_and(|year| !(0..=9999).contains(&year)) {
        return Err(format!("{text:?} is outside the years 0000 to 9999"));
    }
    Ok(())
}

/// The (UTC) year of a string that is a whole date or date-time as the API
/// parses them.
fn date_year(text: &str) -> Option<i32> {
    let first = text.chars().next()?;
    if !(first.is_ascii_digit() || first == '+' || first == '-') || !(10..=64).contains(&text.len())
    {
        return None;
    }
    if let Ok(t) = text.parse::<DateTime<FixedOffset>>() {
        return Some(t.with_timezone(&Utc).year());
    }
    text.parse::<NaiveDate>().ok().map(|d| d.year())
}
