//! A small element tree for `clp.conf`, read and written with quick-xml.
//!
//! Why a tree and not serde structs: clp.conf is a vendor format that grows with
//! every CLUSTERPRO release. We must keep elements we do not know (and write them
//! back unchanged), report problems with the line they came from, and edit the file
//! by element path the way `clpcfset` does. A tree that remembers each element's
//! line does all three; the typed view lives in `config::validate` / `model`.
//!
//! The tree holds elements, their text and comments. Whitespace between elements
//! is layout, not content: it is dropped on read and regenerated on write.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// One child of an element: another element or a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Comment(String),
}

/// An XML element with its attributes, text, children and source line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// Text content, concatenated; CLUSTERPRO never mixes text and child elements.
    pub text: String,
    pub children: Vec<Node>,
    /// 1-based line of the start tag in the decoded file; 0 for elements built in memory.
    pub line: u32,
}

/// A parsed document: the optional XML declaration attributes and the root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// `encoding` from `<?xml ... encoding="..."?>`, as written in the file.
    pub declared_encoding: Option<String>,
    pub root: Element,
}

/// A syntax error with the line it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u32,
    pub message: String,
}

impl Element {
    /// A new element with no attributes, text or children.
    pub fn new(name: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            attrs: Vec::new(),
            text: String::new(),
            children: Vec::new(),
            line: 0,
        }
    }

    /// A new leaf element holding `text`.
    pub fn with_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        let mut e = Element::new(name);
        e.text = text.into();
        e
    }

    /// The value of attribute `key`.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets (or adds) attribute `key`.
    pub fn set_attr(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.attrs.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((key.to_string(), value)),
        }
    }

    /// The object key: the `name` attribute, or `id` for the elements keyed by id.
    pub fn key(&self) -> Option<&str> {
        self.attr("name").or_else(|| self.attr("id"))
    }

    /// Child elements, in document order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Comment(_) => None,
        })
    }

    /// Mutable child elements, in document order.
    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.children.iter_mut().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Comment(_) => None,
        })
    }

    /// The first child element called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// The first child element called `name` whose key is `key`.
    pub fn keyed_child(&self, name: &str, key: &str) -> Option<&Element> {
        self.elements()
            .find(|e| e.name == name && e.key() == Some(key))
    }

    /// True when the element has child elements (it is a container, not a value).
    pub fn has_elements(&self) -> bool {
        self.elements().next().is_some()
    }

    /// Appends a child element.
    pub fn push(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }
}

/// Parses an already-decoded (UTF-8) document.
pub fn parse(text: &str) -> Result<Document, SyntaxError> {
    let lines = LineIndex::new(text);
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;

    let mut declared_encoding = None;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;

    loop {
        let before = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let opened = stack
                .last()
                .map(|open| format!(" (<{}> was opened on line {})", open.name, open.line))
                .unwrap_or_default();
            SyntaxError {
                line: lines.line_of(reader.error_position()),
                message: format!("{e}{opened}"),
            }
        })?;
        // Position of the markup start: skip whitespace the reader consumed before '<'.
        let start_line = lines.line_of(skip_ws(text, before));
        match event {
            Event::Decl(decl) => {
                if let Some(Ok(enc)) = decl.encoding() {
                    declared_encoding = Some(enc.into_owned());
                }
            }
            Event::Start(start) => {
                stack.push(open_element(&start, start_line)?);
            }
            Event::Empty(start) => {
                let element = open_element(&start, start_line)?;
                attach(&mut stack, &mut root, element, start_line)?;
            }
            Event::End(_) => match stack.pop() {
                Some(element) => attach(&mut stack, &mut root, element, start_line)?,
                None => {
                    return Err(SyntaxError {
                        line: start_line,
                        message: "closing tag without an opening tag".into(),
                    });
                }
            },
            Event::Text(t) => {
                let content = t.xml10_content();
                append_text(&mut stack, &content, start_line)?;
            }
            Event::CData(c) => {
                let content = c.xml10_content().into_owned();
                append_text(&mut stack, &content, start_line)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch.to_string(),
                    Ok(None) => predefined_entity(&r).ok_or_else(|| SyntaxError {
                        line: start_line,
                        message: format!("unknown entity &{};", &*r),
                    })?,
                    Err(e) => {
                        return Err(SyntaxError {
                            line: start_line,
                            message: e.to_string(),
                        });
                    }
                };
                append_text(&mut stack, &resolved, start_line)?;
            }
            Event::Comment(c) => {
                if let Some(parent) = stack.last_mut() {
                    parent
                        .children
                        .push(Node::Comment(c.xml10_content().into_owned()));
                }
            }
            Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(SyntaxError {
            line: lines.line_of(text.len() as u64),
            message: format!(
                "unexpected end of file: <{}> opened on line {} is not closed",
                open.name, open.line
            ),
        });
    }
    match root {
        Some(root) => Ok(Document {
            declared_encoding,
            root,
        }),
        None => Err(SyntaxError {
            line: 1,
            message: "the file has no root element".into(),
        }),
    }
}

fn predefined_entity(name: &str) -> Option<String> {
    let s = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return None,
    };
    Some(s.to_string())
}

fn skip_ws(text: &str, pos: u64) -> u64 {
    let bytes = text.as_bytes();
    let mut p = pos as usize;
    while p < bytes.len() && bytes[p].is_ascii_whitespace() {
        p += 1;
    }
    p as u64
}

fn open_element(start: &BytesStart<'_>, line: u32) -> Result<Element, SyntaxError> {
    let name = start.name().as_ref().to_string();
    let mut element = Element::new(name);
    element.line = line;
    for attr in start.attributes() {
        let attr = attr.map_err(|e| SyntaxError {
            line,
            message: format!("bad attribute in <{}>: {e}", element.name),
        })?;
        let key = attr.key.as_ref().to_string();
        let value = attr
            .normalized_value(XmlVersion::Explicit1_0)
            .map_err(|e| SyntaxError {
                line,
                message: format!("bad attribute value in <{}>: {e}", element.name),
            })?;
        element.attrs.push((key, value.into_owned()));
    }
    Ok(element)
}

fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    element: Element,
    line: u32,
) -> Result<(), SyntaxError> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(Node::Element(element));
            Ok(())
        }
        None if root.is_none() => {
            *root = Some(element);
            Ok(())
        }
        None => Err(SyntaxError {
            line,
            message: format!("a second root element <{}>", element.name),
        }),
    }
}

fn append_text(stack: &mut [Element], content: &str, line: u32) -> Result<(), SyntaxError> {
    match stack.last_mut() {
        Some(parent) => {
            parent.text.push_str(content);
            Ok(())
        }
        None if content.trim().is_empty() => Ok(()),
        None => Err(SyntaxError {
            line,
            message: "text outside the root element".into(),
        }),
    }
}

/// Finishes an element tree after parsing: text of containers is layout only.
fn normalise(element: &mut Element) {
    if element.has_elements() && element.text.trim().is_empty() {
        element.text.clear();
    }
    for child in element.elements_mut() {
        normalise(child);
    }
}

/// Parses and normalises (drops inter-element whitespace).
pub fn parse_document(text: &str) -> Result<Document, SyntaxError> {
    let mut doc = parse(text)?;
    normalise(&mut doc.root);
    Ok(doc)
}

/// Writes the document as indented XML text (UTF-8; the caller encodes it).
///
/// The layout is the one `xmllint --format` gives CLUSTERPRO files: one element per
/// line, two spaces per level, empty values as `<tag/>`.
pub fn write(doc: &Document, encoding_label: &str) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"");
    out.push_str(encoding_label);
    out.push_str("\"?>\n");
    write_element(&doc.root, 0, &mut out);
    out
}

fn write_element(element: &Element, depth: usize, out: &mut String) {
    indent(depth, out);
    out.push('<');
    out.push_str(&element.name);
    for (k, v) in &element.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        out.push_str(&escape_attr(v));
        out.push('"');
    }
    if element.children.is_empty() {
        if element.text.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push('>');
            out.push_str(&escape_text(&element.text));
            out.push_str("</");
            out.push_str(&element.name);
            out.push_str(">\n");
        }
        return;
    }
    out.push_str(">\n");
    if !element.text.trim().is_empty() {
        // Mixed content is not CLUSTERPRO's, but if a file has it we keep the text.
        indent(depth + 1, out);
        out.push_str(&escape_text(element.text.trim()));
        out.push('\n');
    }
    for child in &element.children {
        match child {
            Node::Element(e) => write_element(e, depth + 1, out),
            Node::Comment(c) => {
                indent(depth + 1, out);
                out.push_str("<!--");
                // "--" is not allowed inside a comment; keep the text readable.
                out.push_str(&c.replace("--", "- -"));
                out.push_str("-->\n");
            }
        }
    }
    indent(depth, out);
    out.push_str("</");
    out.push_str(&element.name);
    out.push_str(">\n");
}

fn indent(depth: usize, out: &mut String) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A carriage return would be normalised away on the next read.
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// Maps byte offsets to 1-based line numbers.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line_of(&self, offset: u64) -> u32 {
        let offset = offset as usize;
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        u32::try_from(line).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_structure() {
        let text = "<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n<root>\n  <cluster>\n    <name>c1</name>\n  </cluster>\n  <server name=\"s1\"><priority>0</priority></server>\n</root>\n";
        let doc = parse_document(text).unwrap();
        assert_eq!(doc.declared_encoding.as_deref(), Some("EUC-JP"));
        let cluster = doc.root.child("cluster").unwrap();
        assert_eq!(cluster.line, 3);
        assert_eq!(cluster.child("name").unwrap().text, "c1");
        assert_eq!(cluster.child("name").unwrap().line, 4);
        let server = doc.root.keyed_child("server", "s1").unwrap();
        assert_eq!(server.line, 6);
        assert!(cluster.text.is_empty());
    }

    #[test]
    fn entities_comments_cdata_round_trip() {
        let text = "<root><!-- note --><a>x &amp; y &#65;</a><b><![CDATA[<raw>]]></b><c/></root>";
        let doc = parse_document(text).unwrap();
        assert_eq!(doc.root.child("a").unwrap().text, "x & y A");
        assert_eq!(doc.root.child("b").unwrap().text, "<raw>");
        let written = write(&doc, "UTF-8");
        let again = parse_document(&written).unwrap();
        assert_eq!(strip_lines(again.root), strip_lines(doc.root));
    }

    #[test]
    fn errors_carry_lines() {
        let err = parse_document("<root>\n<a>\n</b>\n</root>").unwrap_err();
        assert_eq!(err.line, 3, "{err:?}");
        let err = parse_document("<root>\n<a>1</a>\n").unwrap_err();
        assert!(err.message.contains("not closed"), "{err:?}");
        let err = parse_document("<root>&nbsp;</root>").unwrap_err();
        assert!(err.message.contains("nbsp"), "{err:?}");
    }

    fn strip_lines(mut e: Element) -> Element {
        e.line = 0;
        e.children = e
            .children
            .into_iter()
            .map(|n| match n {
                Node::Element(c) => Node::Element(strip_lines(c)),
                other => other,
            })
            .collect();
        e
    }
}
