//! The JSON subset of workloads/ABI.md ("The JSON subset the JSON workloads
//! read and write"): one flat object of strings, integers, booleans and
//! nulls in, compact JSON with a fixed escaping rule out.
//!
//! Every language implements exactly this subset by hand, so that a C, Zig or
//! AssemblyScript guest answers the same bytes as this one without a JSON
//! library. Anything outside it is one error, [`INVALID_JSON`], whatever the
//! reason, so implementations cannot disagree about which of two problems in
//! an input they report.

/// The guest error for any input outside the subset.
pub const INVALID_JSON: &str = "invalid JSON";

/// A member value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string, unescaped.
    Str(String),
    /// An integer in the signed 64-bit range.
    Int(i64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// A parsed flat object: its members in input order, keys unique.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Object {
    /// `(key, value)` in input order.
    pub members: Vec<(String, Value)>,
}

impl Object {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `unknown field "<key>"` for the first member whose key is not in
    /// `allowed`.
    ///
    /// # Errors
    /// That message.
    pub fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self.members.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((key, _)) => Err(format!("unknown field \"{key}\"")),
            None => Ok(()),
        }
    }
}

/// Parses `input` as one flat object of the subset.
///
/// # Errors
/// [`INVALID_JSON`] for anything outside the subset.
pub fn parse_object(input: &[u8]) -> Result<Object, String> {
    // UTF-8 first, over the whole input: the parser below then only has to
    // look at ASCII structure, and strings can be copied as they are.
    let text = std::str::from_utf8(input).map_err(|_| INVALID_JSON.to_owned())?;
    let mut parser = Parser {
        bytes: text.as_bytes(),
        pos: 0,
    };
    parser.object().ok_or_else(|| INVALID_JSON.to_owned())
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    fn object(&mut self) -> Option<Object> {
        let mut object = Object::default();
        self.skip_whitespace();
        self.eat(b'{')?;
        self.skip_whitespace();
        if self.eat(b'}').is_none() {
            loop {
                self.skip_whitespace();
                let key = self.string()?;
                self.skip_whitespace();
                self.eat(b':')?;
                self.skip_whitespace();
                let value = self.value()?;
                if object.get(&key).is_some() {
                    return None;
                }
                object.members.push((key, value));
                self.skip_whitespace();
                if self.eat(b',').is_some() {
                    continue;
                }
                self.eat(b'}')?;
                break;
            }
        }
        self.skip_whitespace();
        (self.pos == self.bytes.len()).then_some(object)
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'"' => self.string().map(Value::Str),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            b'-' | b'0'..=b'9' => self.integer().map(Value::Int),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Option<Value> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end) == Some(word)).then(|| {
            self.pos = end;
            value
        })
    }

    /// `-?(0|[1-9][0-9]*)` in the i64 range. Accumulating negatively covers
    /// `i64::MIN`, whose magnitude does not fit an i64.
    fn integer(&mut self) -> Option<i64> {
        let negative = self.eat(b'-').is_some();
        let first = self.peek().filter(u8::is_ascii_digit)?;
        let mut acc: i64 = 0;
        if first == b'0' {
            self.pos += 1;
        } else {
            while let Some(digit) = self.peek().filter(u8::is_ascii_digit) {
                acc = acc.checked_mul(10)?.checked_sub(i64::from(digit - b'0'))?;
                self.pos += 1;
            }
        }
        if negative { Some(acc) } else { acc.checked_neg() }
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let byte = self.peek()?;
            self.pos += 1;
            match byte {
                b'"' => break,
                0x00..=0x1f => return None,
                b'\\' => {
                    let escape = self.peek()?;
                    self.pos += 1;
                    let decoded = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    };
                    out.extend_from_slice(decoded.encode_utf8(&mut [0; 4]).as_bytes());
                }
                // The input is valid UTF-8, so multi-byte characters are
                // copied byte by byte and stay valid.
                other => out.push(other),
            }
        }
        String::from_utf8(out).ok()
    }

    /// After `\u`: one BMP character, or a surrogate pair written as two
    /// escapes.
    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        match high {
            0xd800..=0xdbff => {
                self.eat(b'\\')?;
                self.eat(b'u')?;
                let low = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&low) {
                    return None;
                }
                char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))
            }
            // A lone low surrogate is not a character.
            code => char::from_u32(code),
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4)?;
        let mut code = 0;
        for &digit in digits {
            code = code * 16 + char::from(digit).to_digit(16)?;
        }
        self.pos += 4;
        Some(code)
    }
}

/// Builds one compact output object, members in the order they are added.
#[derive(Debug, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    empty: bool,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    /// An object with no members yet.
    pub fn new() -> Self {
        Self {
            buf: vec![b'{'],
            empty: true,
        }
    }

    fn key(&mut self, key: &str) -> &mut Self {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        write_string(&mut self.buf, key);
        self.buf.push(b':');
        self
    }

    /// Adds a member with any value.
    pub fn value(&mut self, key: &str, value: &Value) -> &mut Self {
        match value {
            Value::Str(s) => self.str(key, s),
            Value::Int(i) => self.int(key, *i),
            Value::Bool(b) => self.bool(key, *b),
            Value::Null => {
                self.key(key).buf.extend_from_slice(b"null");
                self
            }
        }
    }

    /// Adds a string member.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_string(&mut self.buf, value);
        self
    }

    /// Adds an integer member.
    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key).buf.extend_from_slice(value.to_string().as_bytes());
        self
    }

    /// Adds a boolean member.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        let text: &[u8] = if value { b"true" } else { b"false" };
        self.key(key).buf.extend_from_slice(text);
        self
    }

    /// The finished object's bytes.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.push(b'}');
        buf
    }
}

/// Appends `text` as a JSON string: only `"`, `\` and U+0000–U+001F are
/// escaped, the controls always as `\u00xx` with lowercase hex.
pub fn write_string(buf: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.push(b'"');
    for &byte in text.as_bytes() {
        match byte {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            0x00..=0x1f => buf.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]),
            other => buf.push(other),
        }
    }
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<(String, Value)>, String> {
        parse_object(text.as_bytes()).map(|o| o.members)
    }

    #[test]
    fn the_subset_parses_with_whitespace_anywhere_between_tokens() {
        let members = parse(" {\t\"a\" : 1 ,\n\"b\":\"x\",\"c\":true,\"d\":false,\"e\":null}\r\n").unwrap();
        assert_eq!(
            members,
            vec![
                ("a".into(), Value::Int(1)),
                ("b".into(), Value::Str("x".into())),
                ("c".into(), Value::Bool(true)),
                ("d".into(), Value::Bool(false)),
                ("e".into(), Value::Null),
            ]
        );
        assert_eq!(parse("{}"), Ok(vec![]));
    }

    #[test]
    fn integers_cover_i64_and_nothing_else() {
        let min = parse("{\"a\":-9223372036854775808}").unwrap();
        assert_eq!(min[0].1, Value::Int(i64::MIN));
        let max = parse("{\"a\":9223372036854775807}").unwrap();
        assert_eq!(max[0].1, Value::Int(i64::MAX));
        assert_eq!(parse("{\"a\":-0}").unwrap()[0].1, Value::Int(0));
        for bad in [
            "9223372036854775808",
            "-9223372036854775809",
            "01",
            "-",
            "+1",
            "1.5",
            "1e3",
            "-a",
        ] {
            assert_invalid_member(bad);
        }
    }

    /// `bad` as the value of a member is outside the subset.
    fn assert_invalid_member(bad: &str) {
        assert_eq!(
            parse(&format!("{{\"a\":{bad}}}")),
            Err(INVALID_JSON.into()),
            "{bad}"
        );
    }

    #[test]
    fn escapes_decode_and_surrogates_must_pair() {
        let members = parse(r#"{"s":"\"\\\/\b\f\n\r\t\u00E9\ud83c\udf0d\u0000"}"#).unwrap();
        assert_eq!(members[0].1, Value::Str("\"\\/\u{8}\u{c}\n\r\té🌍\0".into()));
        for bad in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#""\x""#,
            r#""\u12""#,
        ] {
            assert_invalid_member(bad);
        }
    }

    #[test]
    fn everything_outside_the_subset_is_one_error() {
        for bad in [
            "",
            "[]",
            "1",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{,}",
            "{\"a\":1}x",
            "{\"a\":[1]}",
            "{\"a\":{}}",
            "{\"a\":1,\"a\":2}",
            "{\"a\":1,\"\\u0061\":2}",
            "{\"a\":\"x\ty\"}",
            "{\"a\":tru}",
            "\u{feff}{}",
            "{'a':1}",
        ] {
            assert_eq!(parse(bad), Err(INVALID_JSON.into()), "{bad:?}");
        }
        assert_eq!(parse_object(b"{\"a\":\"\xc3\x28\"}"), Err(INVALID_JSON.into()));
    }

    #[test]
    fn output_escapes_only_quote_backslash_and_controls() {
        let out = Writer::new()
            .str("k\"", "a\\b\n\u{1f}/\u{7f}é")
            .int("n", -5)
            .bool("t", true)
            .value("z", &Value::Null)
            .finish();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"k\\\"\":\"a\\\\b\\u000a\\u001f/\u{7f}é\",\"n\":-5,\"t\":true,\"z\":null}"
        );
        assert_eq!(Writer::new().finish(), b"{}");
    }

    #[test]
    fn unknown_fields_are_named_in_input_order() {
        let object = parse_object(br#"{"a":1,"x":2,"y":3}"#).unwrap();
        assert_eq!(object.only(&["a"]), Err("unknown field \"x\"".into()));
        assert_eq!(object.only(&["a", "x", "y"]), Ok(()));
    }
}
