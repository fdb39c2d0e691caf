//! Tables for people: the listings whose layout CLUSTERPRO does not fix
//! (`clpmonctrl -v`, `clpalert`) are drawn with comfy-table, fitted to the
//! terminal's width, when standard output is a terminal. When it is not (a
//! pipe, a file, a script), the commands keep their plain fixed layout, so
//! that what scripts parse does not change. `clpstat`'s layouts are
//! CLUSTERPRO's, byte for byte, and never come here.

use std::io::IsTerminal;

use comfy_table::{ColumnConstraint, ContentArrangement, Table, presets};

/// How a listing is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A table fitted to this many columns.
    Terminal(u16),
    /// The plain fixed layout.
    Plain,
}

/// Width used when the terminal does not say.
const FALLBACK_WIDTH: u16 = 80;

impl Layout {
    /// The layout for this process's standard output: a table when it is a
    /// terminal, as wide as `COLUMNS` says or else the terminal itself.
    pub fn for_stdout() -> Layout {
        let stdout = std::io::stdout();
        if !stdout.is_terminal() {
            return Layout::Plain;
        }
        let from_env = std::env::var("COLUMNS").ok().and_then(|c| parse_width(&c));
        let width = from_env
            .or_else(|| terminal_width(&stdout))
            .unwrap_or(FALLBACK_WIDTH);
        Layout::Terminal(width)
    }
}

/// The width the terminal at `stdout` reports (TIOCGWINSZ), if any.
fn terminal_width(stdout: &std::io::Stdout) -> Option<u16> {
    use std::os::fd::AsRawFd;
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into `size`, which we own and
    // which outlives the call; the descriptor is this process's stdout.
    let rc = unsafe { libc::ioctl(stdout.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(size.ws_col)
}

/// A `COLUMNS` value: a positive width that fits a terminal.
fn parse_width(text: &str) -> Option<u16> {
    text.trim().parse::<u16>().ok().filter(|w| *w > 0)
}

/// Room left at least for the columns that wrap, when the others are kept
/// whole.
const WRAPPING_ROOM: usize = 16;

/// `header` and `rows` as a bordered table at most `width` columns wide;
/// long cells wrap inside their column. The columns in `whole` (a time, a
/// name) are kept on one line when they leave room for the others.
pub fn render(header: &[&str], rows: &[Vec<String>], width: u16, whole: &[usize]) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::ASCII_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row.clone());
    }
    let widest = |column: usize| {
        rows.iter()
            .filter_map(|r| r.get(column))
            .map(|c| c.chars().count())
            .chain(header.get(column).map(|h| h.chars().count()))
            .max()
            .unwrap_or(0)
    };
    // Each column costs its content, two spaces of padding and a border.
    let kept: usize = whole.iter().map(|c| widest(*c) + 3).sum::<usize>() + 1;
    if kept + WRAPPING_ROOM <= usize::from(width) {
        for column in whole {
            if let Some(c) = table.column_mut(*column) {
                c.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
    }
    let mut out = table.to_string();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_fits_its_width_and_wraps_long_cells() {
        let rows = vec![
            vec!["watch".to_string(), "Normal".into(), "0".into()],
            vec![
                "sraw1".to_string(),
                "Error".into(),
                "a long message that cannot fit on one line of a narrow terminal".into(),
            ],
        ];
        let text = render(&["Monitor", "Status", "Message"], &rows, 40, &[0]);
        for line in text.lines() {
            assert!(line.chars().count() <= 40, "{line:?} in\n{text}");
        }
        assert!(text.starts_with("+--"), "{text}");
        assert!(text.contains("| Monitor"), "{text}");
        assert!(text.contains("| watch"), "{text}");
        // Wrapped: the message spans several lines.
        assert!(text.lines().count() > 6, "{text}");
        let wide = render(&["Monitor", "Status", "Message"], &rows, 200, &[0]);
        assert!(
            wide.lines().any(|l| l.contains("of a narrow terminal")),
            "{wide}"
        );
    }

    #[test]
    fn columns_values() {
        assert_eq!(parse_width("60"), Some(60));
        assert_eq!(parse_width(" 132\n"), Some(132));
        assert_eq!(parse_width("0"), None);
        assert_eq!(parse_width("wide"), None);
        assert_eq!(parse_width("70000"), None);
    }
}
