//! Element paths in CLUSTERPRO's own syntax: `monitor/genw@genw1/polling/interval`.
//!
//! `a@x` means the element `<a>` whose key attribute is `x`. The key attribute is
//! `name`, except for the elements CLUSTERPRO keys by `id` (devices, lists, the
//! children of `<messages>`, ...). The same syntax is used by `clpcfset` arguments,
//! `clpcfget -g/-e`, and the element paths in validation reports, so an operator
//! can copy a path from an error message into a command.

use super::xml::Element;

/// Elements keyed by an `id` attribute instead of `name` (reference §2.1).
const ID_KEYED: &[&str] = &[
    "device", "list", "hba", "grp", "servers", "netdev", "smtpsrv", "snmpsrv", "cmd", "ip",
];

/// One step of a path: an element name and an optional key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub key: Option<String>,
}

/// Splits a path into steps. A leading `/` and a leading `root` step are optional.
pub fn parse(path: &str) -> Result<Vec<Step>, String> {
    let trimmed = path.trim().trim_start_matches('/');
    let trimmed = trimmed.strip_prefix("root").map_or(trimmed, |rest| {
        if rest.is_empty() || rest.starts_with('/') {
            rest.trim_start_matches('/')
        } else {
            trimmed
        }
    });
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    trimmed
        .trim_end_matches('/')
        .split('/')
        .map(|seg| {
            let (name, key) = match seg.split_once('@') {
                Some((n, k)) => (n, Some(k.to_string())),
                None => (seg, None),
            };
            if name.is_empty() || !name.chars().all(is_name_char) {
                return Err(format!(
                    "\"{seg}\" in path \"{path}\" is not an element name (letters, digits, _ - . only)"
                ));
            }
            if key.as_deref() == Some("") {
                return Err(format!("\"{seg}\" in path \"{path}\" has an empty key after @"));
            }
            Ok(Step {
                name: name.to_string(),
                key,
            })
        })
        .collect()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// The attribute that keys `child` when it sits under `parent`.
pub fn key_attr(parent: &str, child: &str) -> &'static str {
    if parent == "messages" || ID_KEYED.contains(&child) {
        "id"
    } else {
        "name"
    }
}

/// Finds the element at `steps` below `from`.
pub fn find<'a>(from: &'a Element, steps: &[Step]) -> Option<&'a Element> {
    let mut current = from;
    for step in steps {
        current = current
            .elements()
            .find(|c| matches_named(&current.name, c, step))?;
    }
    Some(current)
}

/// Finds the element at `steps` below `from`, for changing it.
pub fn find_mut<'a>(from: &'a mut Element, steps: &[Step]) -> Option<&'a mut Element> {
    let mut current = from;
    for step in steps {
        let parent_name = current.name.clone();
        current = current
            .elements_mut()
            .find(|c| matches_named(&parent_name, c, step))?;
    }
    Some(current)
}

/// Finds the element at `steps`, creating missing elements (appended at the end of
/// their parent, as clpcfset does). None only if the tree changed under us, which
/// cannot happen with `&mut`; callers treat it as an internal error.
pub fn find_or_create<'a>(from: &'a mut Element, steps: &[Step]) -> Option<&'a mut Element> {
    // Phase 1: create what is missing, holding no borrow across steps.
    let mut prefix: Vec<Step> = Vec::new();
    for step in steps {
        let parent = find_mut(from, &prefix)?;
        let parent_name = parent.name.clone();
        if !parent
            .elements()
            .any(|c| matches_named(&parent_name, c, step))
        {
            let mut element = Element::new(step.name.clone());
            if let Some(key) = &step.key {
                element.set_attr(key_attr(&parent_name, &step.name), key.clone());
            }
            parent.children.push(super::xml::Node::Element(element));
        }
        prefix.push(step.clone());
    }
    // Phase 2: everything exists now.
    find_mut(from, steps)
}

fn matches_named(parent_name: &str, candidate: &Element, step: &Step) -> bool {
    if candidate.name != step.name {
        return false;
    }
    match &step.key {
        None => true,
        Some(key) => candidate.attr(key_attr(parent_name, &step.name)) == Some(key.as_str()),
    }
}

/// Removes the element at `steps`. Returns whether something was removed.
pub fn remove(from: &mut Element, steps: &[Step]) -> bool {
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut current = from;
    for step in parents {
        let parent_name = current.name.clone();
        let Some(next) = current
            .elements_mut()
            .find(|c| matches_named(&parent_name, c, step))
        else {
            return false;
        };
        current = next;
    }
    let parent_name = current.name.clone();
    let before = current.children.len();
    let mut removed = false;
    current.children.retain(|n| match n {
        super::xml::Node::Element(c) if !removed && matches_named(&parent_name, c, last) => {
            removed = true;
            false
        }
        _ => true,
    });
    before != current.children.len()
}

/// Formats one step as text (`genw@genw1`).
pub fn step_text(element: &Element) -> String {
    match element.key() {
        Some(k) => format!("{}@{}", element.name, k),
        None => element.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::xml::parse_document;

    #[test]
    fn parses_steps() {
        let steps = parse("/root/monitor/genw@genw1/polling/interval").unwrap();
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[1].key.as_deref(), Some("genw1"));
        assert!(parse("a//b").is_err());
        assert!(parse("a@").is_err());
        assert_eq!(parse("rootless/x").unwrap()[0].name, "rootless");
    }

    #[test]
    fn finds_by_name_and_id() {
        let doc = parse_document(
            "<root><server name=\"s1\"><device id=\"0\"><info>127.0.0.1</info></device></server></root>",
        )
        .unwrap();
        let e = find(&doc.root, &parse("server@s1/device@0/info").unwrap()).unwrap();
        assert_eq!(e.text, "127.0.0.1");
        assert!(find(&doc.root, &parse("server@s2").unwrap()).is_none());
    }

    #[test]
    fn creates_and_removes() {
        let mut root = Element::new("root");
        find_or_create(&mut root, &parse("messages/rm@1/syslog").unwrap())
            .unwrap()
            .text = "1".into();
        find_or_create(&mut root, &parse("messages/rm@1/alert").unwrap())
            .unwrap()
            .text = "0".into();
        let rm = find(&root, &parse("messages/rm@1").unwrap()).unwrap();
        assert_eq!(rm.attr("id"), Some("1"));
        assert_eq!(rm.elements().count(), 2);
        assert!(remove(&mut root, &parse("messages/rm@1/alert").unwrap()));
        assert!(!remove(&mut root, &parse("messages/rm@2").unwrap()));
    }
}
