//! `sasl.jaas.config`: one JAAS login module entry, parsed as Kafka's `JaasConfig` reads it
//! (`<class> <flag> name=value ... ;`, values bare or quoted, `//` and `/* */` comments).

use std::collections::BTreeMap;

/// One login module with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasEntry {
    pub login_module: String,
    pub control_flag: String,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid JAAS config: {0}")]
pub struct JaasError(pub String);

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Char(char),
}

fn tokens(text: &str) -> Result<Vec<Token>, JaasError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '/' {
            chars.next();
            match chars.peek() {
                Some('/') => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                Some('*') => {
                    chars.next();
                    let mut last = ' ';
                    loop {
                        match chars.next() {
                            Some('/') if last == '*' => break,
                            Some(c) => last = c,
                            None => return Err(JaasError("comment not terminated".into())),
                        }
                    }
                }
                _ => out.push(Token::Char('/')),
            }
        } else if c == '"' || c == '\'' {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('\\') => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some('t') => value.push('\t'),
                        Some('r') => value.push('\r'),
                        Some(other) => value.push(other),
                        None => return Err(JaasError("quoted value not terminated".into())),
                    },
                    Some(q) if q == c => break,
                    Some(other) => value.push(other),
                    None => return Err(JaasError("quoted value not terminated".into())),
                }
            }
            out.push(Token::Quoted(value));
        } else if c == ';' || c == '=' {
            chars.next();
            out.push(Token::Char(c));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || matches!(c, ';' | '=' | '"' | '\'') {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(Token::Word(word));
        }
    }
    Ok(out)
}

/// Parses `sasl.jaas.config`; Kafka allows exactly one login module there.
pub fn parse(text: &str) -> Result<JaasEntry, JaasError> {
    let tokens = tokens(text)?;
    let mut entries = Vec::new();
    let mut it = tokens.into_iter().peekable();
    while it.peek().is_some() {
        let login_module = match it.next() {
            Some(Token::Word(w)) => w,
            other => return Err(JaasError(format!("expected a login module class name, found {other:?}"))),
        };
        let control_flag = match it.next() {
            Some(Token::Word(w)) if ["required", "requisite", "sufficient", "optional"].contains(&w.to_ascii_lowercase().as_str()) => w,
            Some(Token::Word(w)) => return Err(JaasError(format!("Invalid control flag {w}"))),
            _ => return Err(JaasError(format!("login module control flag not specified for {login_module}"))),
        };
        let mut options = BTreeMap::new();
        loop {
            match it.next() {
                Some(Token::Char(';')) => break,
                Some(Token::Word(key)) => {
                    if it.next() != Some(Token::Char('=')) {
                        return Err(JaasError(format!("Value not specified for key: {key}")));
                    }
                    let value = match it.next() {
                        Some(Token::Word(v)) | Some(Token::Quoted(v)) => v,
                        _ => return Err(JaasError(format!("Value not specified for key: {key}"))),
                    };
                    options.insert(key, value);
                }
                None => return Err(JaasError("JAAS config entry not terminated by semi-colon".into())),
                Some(other) => return Err(JaasError(format!("unexpected {other:?} in the options of {login_module}"))),
            }
        }
        entries.push(JaasEntry { login_module, control_flag, options });
    }
    match entries.len() {
        0 => Err(JaasError("JAAS config property does not contain any login modules".into())),
        1 => Ok(entries.remove(0)),
        n => Err(JaasError(format!("JAAS config property contains {n} login modules, should be 1 module"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_style_entries_parse() {
        let e = parse(r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="al;ce \"secret\"";"#).unwrap();
        assert_eq!(e.login_module, "org.apache.kafka.common.security.plain.PlainLoginModule");
        assert_eq!(e.control_flag, "required");
        assert_eq!(e.options["username"], "alice");
        assert_eq!(e.options["password"], "al;ce \"secret\"");

        let e = parse("  com.sun.security.auth.module.Krb5LoginModule REQUIRED\n useKeyTab=true /* c */ keyTab='/etc/k.keytab' // x\n principal=\"k@R\" ;")
            .unwrap();
        assert_eq!(e.options.len(), 3);
        assert_eq!(e.options["useKeyTab"], "true");
        assert_eq!(e.options["keyTab"], "/etc/k.keytab");
        assert_eq!(parse("a.B required;").unwrap().options.len(), 0);
    }

    #[test]
    fn bad_entries_are_named_as_kafka_names_them() {
        assert_eq!(parse("").unwrap_err().to_string(), "Invalid JAAS config: JAAS config property does not contain any login modules");
        assert_eq!(parse("a.B required x=\"y\"").unwrap_err().to_string(), "Invalid JAAS config: JAAS config entry not terminated by semi-colon");
        assert_eq!(parse("a.B mandatory;").unwrap_err().to_string(), "Invalid JAAS config: Invalid control flag mandatory");
        assert_eq!(parse("a.B required x;").unwrap_err().to_string(), "Invalid JAAS config: Value not specified for key: x");
        assert_eq!(
            parse("a.B required; c.D optional;").unwrap_err().to_string(),
            "Invalid JAAS config: JAAS config property contains 2 login modules, should be 1 module"
        );
        assert!(parse("a.B required x=\"y;").is_err());
    }
}
