//! Templates: configuration files whose generator never filled in the values.
//!
//! Generator scripts and setup guides ship clp.conf templates with markers in
//! place of host names, addresses and numbers: `__SSS_MONITOR_PERIOD_SEC__`,
//! `%%VMA1%%`, `INPUT_HOST1`. Such a file parses, and many of its markers sit
//! in text fields that no rule checks (a server name, a password), so without
//! this pass it would load and run with a server literally called `%%VMA1%%`.
//! Every marker is an error on its own line, whatever object holds it: the file
//! is a template, not a configuration.

use super::path;
use super::report::Report;
use super::xml::{Document, Element};

/// Whether `value` (trimmed) is a whole unfilled placeholder. Only whole values
/// count: the markers real templates use always stand alone, and a value that
/// merely contains `%%` or `__` (a script argument, a path) must not be refused.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            && s.bytes().any(|b| b.is_ascii_uppercase())
    };
    if let Some(inner) = v.strip_prefix("__").and_then(|s| s.strip_suffix("__")) {
        return word(inner);
    }
    if let Some(inner) = v.strip_prefix("%%").and_then(|s| s.strip_suffix("%%")) {
        return word(inner);
    }
    v.strip_prefix("INPUT_").is_some_and(word)
}

/// Reports every placeholder in `doc` (element text and attribute values).
pub fn check(doc: &Document, report: &mut Report) {
    walk(&doc.root, &format!("/{}", doc.root.name), report);
}

fn walk(el: &Element, abs: &str, report: &mut Report) {
    for (key, value) in &el.attrs {
        if is_placeholder(value) {
            report.error(
                el.line,
                abs,
                message(&format!("{key}=\"{}\"", value.trim())),
            );
        }
    }
    if !el.has_elements() && is_placeholder(&el.text) {
        report.error(el.line, abs, message(el.text.trim()));
    }
    for child in el.elements() {
        walk(child, &format!("{abs}/{}", path::step_text(child)), report);
    }
}

fn message(what: &str) -> String {
    format!(
        "{what} is a template placeholder that was never filled in; this file is a template: \
         replace every placeholder with the real value (or run the generator that fills them)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::xml;

    #[test]
    fn whole_markers_only() {
        for p in [
            "__SSS_NORECOVERY__",
            " %%VMA1IP%% ",
            "%%FIP%%",
            "INPUT_HOST1",
            "INPUT_OBJECT_NUMBER",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for v in [
            "",
            "____",
            "%%%%",
            "__init__",
            "100%%",
            "/opt/__APP__/start.sh",
            "echo %%X%% done",
            "INPUT_",
            "INPUT_lower",
            "cluster-0",
        ] {
            assert!(!is_placeholder(v), "{v}");
        }
    }

    #[test]
    fn reports_text_and_attributes_with_their_line() {
        let doc = xml::parse_document(
            "<root>\n  <server name=\"%%VMA1%%\">\n    <priority>0</priority>\n  </server>\n  <rm><errordetect><norecovery>__SSS_NORECOVERY__</norecovery></errordetect></rm>\n</root>\n",
        )
        .unwrap();
        let mut report = Report::new("clp.conf");
        check(&doc, &mut report);
        let text = report.to_string();
        assert!(
            text.contains(
                "clp.conf:2: /root/server@%%VMA1%%: name=\"%%VMA1%%\" is a template placeholder"
            ),
            "{text}"
        );
        assert!(
            text.contains("clp.conf:5: /root/rm/errordetect/norecovery: __SSS_NORECOVERY__ is a template placeholder"),
            "{text}"
        );
        assert_eq!(report.errors().count(), 2);
    }
}
