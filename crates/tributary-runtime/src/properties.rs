//! Java `.properties` files, the format of `connect-standalone`'s worker and connector files.

use std::collections::BTreeMap;

/// Parses Java properties text: `key=value`, `key: value` or `key value`; `#`/`!` comments;
/// backslash line continuations and escapes (`\t`, `\n`, `\uXXXX`, `\=`...).
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines().enumerate();
    while let Some((lineno, line)) = lines.next() {
        let mut logical = line.trim_start().to_owned();
        if logical.is_empty() || logical.starts_with('#') || logical.starts_with('!') {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        let key = unescape(key).map_err(|e| format!("line {}: {e}", lineno + 1))?;
        let value = unescape(value).map_err(|e| format!("line {}: {e}", lineno + 1))?;
        out.insert(key, value);
    }
    Ok(out)
}

fn ends_with_continuation(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (&line[..i], line[i + 1..].trim_start()),
            ' ' | '\t' | '\x0c' => {
                let rest = line[i..].trim_start();
                let rest = rest.strip_prefix(['=', ':']).map(str::trim_start).unwrap_or(rest);
                return (&line[..i], rest);
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16).map_err(|_| format!("malformed \\uxxxx encoding: \\u{hex}"))?;
                out.push(char::from_u32(code).ok_or_else(|| format!("invalid character \\u{hex}"))?);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_properties() {
        let text = "# comment\n! also\nname=local-file-source\nconnector.class : FileStreamSource\ntasks.max 1\nfile=/tmp/a\\\n  b.txt\nkey\\=x=y\nuni=\\u0041\nempty=\n";
        let p = parse(text).unwrap();
        assert_eq!(p["name"], "local-file-source");
        assert_eq!(p["connector.class"], "FileStreamSource");
        assert_eq!(p["tasks.max"], "1");
        assert_eq!(p["file"], "/tmp/ab.txt");
        assert_eq!(p["key=x"], "y");
        assert_eq!(p["uni"], "A");
        assert_eq!(p["empty"], "");
        assert_eq!(p.len(), 7);
    }
}
