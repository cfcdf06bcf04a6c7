//! The ruff-style markers of the rule fixtures: a line where a finding must be
//! reported ends with a comment naming the code(s) (`# RA101`, `# RA101 RA106`),
//! a line where nothing may fire with `# OK`, either optionally followed by an
//! explanation (`# RA106: no timeout`). The rule tests and the labels read them.

/// What the marker comment of one line expects.
#[derive(Debug, PartialEq, Eq)]
pub enum Marker {
    Codes(Vec<String>),
    Ok,
}

/// A finding code: `RA` and three digits.
pub fn is_code(token: &str) -> bool {
    token.len() == 5 && token.starts_with("RA") && token[2..].chars().all(|c| c.is_ascii_digit())
}

/// The marker of a line, if it has one.
pub fn marker(line: &str) -> Option<Marker> {
    let mut search = line;
    while let Some(i) = search.find('#') {
        let comment = &search[i + 1..];
        let tokens: Vec<&str> = comment.split_whitespace().map(|t| t.trim_end_matches([':', ','])).collect();
        let codes: Vec<String> = tokens.iter().take_while(|t| is_code(t)).map(|t| t.to_string()).collect();
        if !codes.is_empty() {
            return Some(Marker::Codes(codes));
        }
        if tokens.first() == Some(&"OK") {
            return Some(Marker::Ok);
        }
        search = comment;
    }
    None
}
