//! Character encodings of clp.conf.
//!
//! CLUSTERPRO writes the file in the charset named by its XML declaration (and by
//! `<all><charset>`): `ASCII` for English installations, `EUC-JP` for Japanese ones
//! (every MIRACLE FailSafe sample), `SJIS` when the WebUI ran on Windows, `GB2312`
//! for Chinese. We decode by the declaration with encoding_rs, work in UTF-8, and
//! encode back to the same charset on write, so a file keeps its encoding across
//! `clpcfset` edits and `clpcfctrl --pull`.

use encoding_rs::Encoding;

/// Why a file could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub line: u32,
    pub message: String,
}

/// The encoding named in the XML declaration of `bytes` (None when there is no
/// declaration or it names no encoding). The declaration is ASCII in every charset
/// CLUSTERPRO uses, so it can be read before decoding.
pub fn declared_label(bytes: &[u8]) -> Option<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if !bytes.starts_with(b"<?xml") {
        return None;
    }
    let end = bytes.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&bytes[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    let close = value.find(quote)?;
    Some(value[..close].to_string())
}

/// Maps a CLUSTERPRO charset label to an encoding. `ASCII` is read as
/// windows-1252 (a superset), and written with every non-ASCII character as a
/// numeric character reference.
pub fn for_label(label: &str) -> Option<&'static Encoding> {
    let normal = label.trim().to_ascii_lowercase();
    match normal.as_str() {
        "ascii" | "us-ascii" => Some(encoding_rs::WINDOWS_1252),
        "sjis" | "shift_jis" | "shift-jis" | "cp932" | "ms932" | "windows-31j" => {
            Some(encoding_rs::SHIFT_JIS)
        }
        "euc-jp" | "eucjp" | "euc_jp" => Some(encoding_rs::EUC_JP),
        _ => Encoding::for_label(normal.as_bytes()),
    }
}

/// Decodes a clp.conf file by its declared encoding (UTF-8 when none is declared).
/// Returns the text and the label as declared (kept for writing back).
pub fn decode(bytes: &[u8]) -> Result<(String, Option<String>), DecodeError> {
    let label = declared_label(bytes);
    let encoding = match &label {
        Some(l) => for_label(l).ok_or_else(|| DecodeError {
            line: 1,
            message: format!(
                "the XML declaration names encoding \"{l}\", which clp does not know; \
                 use ASCII, UTF-8, EUC-JP, SJIS or GB2312"
            ),
        })?,
        None => encoding_rs::UTF_8,
    };
    let (text, had_errors) = encoding.decode_with_bom_removal(bytes);
    if had_errors {
        let line = text
            .split('\n')
            .position(|l| l.contains('\u{FFFD}'))
            .map_or(1, |i| i + 1);
        return Err(DecodeError {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            message: format!(
                "bytes that are not valid {} (the declared encoding); \
                 convert the file or fix its XML declaration",
                encoding.name()
            ),
        });
    }
    Ok((text.into_owned(), label))
}

/// Encodes UTF-8 text for writing in the charset `label`.
/// Characters the charset cannot hold become numeric character references,
/// which every XML reader (and CLUSTERPRO) resolves back to the character.
pub fn encode(text: &str, label: &str) -> Vec<u8> {
    let lower = label.trim().to_ascii_lowercase();
    if lower == "ascii" || lower == "us-ascii" {
        let mut out = String::with_capacity(text.len());
        for ch in text.chars() {
            if ch.is_ascii() {
                out.push(ch);
            } else {
                out.push_str(&format!("&#{};", ch as u32));
            }
        }
        return out.into_bytes();
    }
    let encoding = for_label(label).unwrap_or(encoding_rs::UTF_8);
    let (bytes, _, _) = encoding.encode(text);
    bytes.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_declared_label() {
        assert_eq!(
            declared_label(b"<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n<root/>").as_deref(),
            Some("EUC-JP")
        );
        assert_eq!(
            declared_label(b"<?xml version='1.0' encoding='SJIS' ?><root/>").as_deref(),
            Some("SJIS")
        );
        assert_eq!(declared_label(b"<root/>"), None);
    }

    #[test]
    fn euc_jp_and_sjis_round_trip() {
        let text = "<?xml version=\"1.0\" encoding=\"EUC-JP\"?><root><comment>業務グループ</comment></root>";
        for label in ["EUC-JP", "SJIS"] {
            let with_label = text.replace("EUC-JP", label);
            let bytes = encode(&with_label, label);
            assert_ne!(bytes, with_label.as_bytes(), "{label} must not be UTF-8");
            let (back, declared) = decode(&bytes).unwrap();
            assert_eq!(back, with_label);
            assert_eq!(declared.as_deref(), Some(label));
        }
    }

    #[test]
    fn ascii_escapes_non_ascii() {
        let bytes = encode("<a>é</a>", "ASCII");
        assert_eq!(bytes, b"<a>&#233;</a>");
    }

    #[test]
    fn invalid_bytes_name_the_line() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<root>\n<a>".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(b"</a></root>");
        let err = decode(&bytes).unwrap_err();
        assert_eq!(err.line, 3);
        let err = decode(b"<?xml version=\"1.0\" encoding=\"KLINGON\"?><root/>").unwrap_err();
        assert!(err.message.contains("KLINGON"));
    }
}
