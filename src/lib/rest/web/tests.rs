use super::*;

/// The page script cut into its top-level functions: (name, body).
fn functions(script: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in script.lines() {
        let head = line
            .strip_prefix("async function ")
            .or_else(|| line.strip_prefix("function "));
        if let Some(head) = head {
            let name = head.split('(').next().unwrap_or_default().to_string();
            out.push((name, String::new()));
        }
        if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

#[test]
fn no_markup_is_ever_made_from_a_string() {
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        "textContent",
        "innerText",
        ".src",
        ".href",
        "DOMParser",
        "createRange",
    ] {
        assert!(!PAGE_JS.contains(sink), "page.js uses {sink}");
    }
}

#[test]
fn text_and_attributes_reach_the_document_only_through_el_and_show() {
    let functions = functions(PAGE_JS);
    assert!(functions.iter().any(|(name, _)| name == "el"));
    for (name, body) in &functions {
        for insertion in [
            "createTextNode",
            "setAttribute",
            ".append(",
            ".prepend(",
            ".before(",
            ".after(",
            ".replaceWith(",
        ] {
            if body.contains(insertion) {
                assert!(
                    name == "el" || name == "show",
                    "function {name} inserts text itself ({insertion}): go through el() or show()"
                );
            }
        }
        // replaceChildren takes nodes made by el() only, except in show().
        if name != "show" {
            for call in body.split("replaceChildren(").skip(1) {
                assert!(
                    call.starts_with("...rows") || call.starts_with("...others"),
                    "function {name} gives replaceChildren something else than el() rows"
                );
            }
        }
    }
    // Nothing outside a function touches the document.
    let top_level: String = PAGE_JS
        .split("\nfunction ")
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(!top_level.contains("document."));
}

#[test]
fn classes_come_from_fixed_words_only() {
    for line in PAGE_JS.lines().filter(|l| l.contains(".className =")) {
        let value = line.split(".className =").nth(1).unwrap_or_default().trim();
        assert!(
            ["''", "'failed'", "'state ' + tone(view.service)"]
                .iter()
                .any(|fixed| value.starts_with(fixed)),
            "className set from {value}"
        );
    }
    // tone() answers only its fixed words.
    let tone = functions(PAGE_JS)
        .into_iter()
        .find(|(name, _)| name == "tone")
        .unwrap()
        .1;
    for line in tone.lines().filter(|l| l.contains("return")) {
        let word = line.split("return").nth(1).unwrap().trim();
        assert!(
            ["'ok';", "'warn';", "'bad';", "'off';"].contains(&word),
            "{line}"
        );
    }
}

#[test]
fn el_sets_only_attributes_that_carry_neither_script_nor_address() {
    let list = PAGE_JS
        .split("const ATTRIBUTES = new Set([")
        .nth(1)
        .and_then(|rest| rest.split("]);").next())
        .unwrap();
    for name in list.split(',').map(|n| n.trim().trim_matches('\'')) {
        assert!(
            !name.is_empty()
                && !name.starts_with("on")
                && !["href", "src", "style", "action", "formaction", "srcdoc"].contains(&name),
            "el() may set {name}"
        );
    }
}

#[test]
fn the_page_loads_its_script_and_style_from_this_origin_only() {
    assert!(PAGE_HTML.contains(r#"<script src="/ui/page.js" defer></script>"#));
    assert_eq!(PAGE_HTML.matches("<script").count(), 1);
    assert!(!PAGE_HTML.contains("<style"));
    assert!(!PAGE_HTML.contains(" on"), "no inline event handlers");
    for text in [PAGE_HTML, PAGE_JS, PAGE_CSS] {
        assert!(!text.contains("http://") && !text.contains("https://"));
        assert!(!text.contains("url("));
    }
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"));
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    assert!(CONTENT_SECURITY_POLICY.contains("require-trusted-types-for 'script'"));
}

#[test]
fn operations_from_another_site_are_told_apart_from_scripts_and_the_page() {
    let headers = |pairs: &[(&'static str, &'static str)]| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    };
    // curl and other scripts: no browser headers.
    assert_eq!(cross_site(&headers(&[("host", "node1:29009")])), None);
    // The page itself.
    assert_eq!(
        cross_site(&headers(&[
            ("host", "node1:29009"),
            ("origin", "https://node1:29009"),
            ("sec-fetch-site", "same-origin"),
        ])),
        None
    );
    let foreign = cross_site(&headers(&[
        ("host", "node1:29009"),
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ]))
    .unwrap();
    assert!(foreign.contains("cross-site"), "{foreign}");
    // An older browser: only Origin.
    let by_origin = cross_site(&headers(&[
        ("host", "node1:29009"),
        ("origin", "https://evil.example"),
    ]))
    .unwrap();
    assert!(by_origin.contains("evil.example"), "{by_origin}");
    assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])).is_some());
}
