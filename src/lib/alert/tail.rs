//! Reading a log from its end: what compaction keeps is the newest records,
//! so a file of any size costs what is kept, not what is there.

use std::fs::File;
use std::io;

/// Size of the blocks read backwards from the end of the file.
const TAIL_BLOCK: u64 = 64 * 1024;

/// Reads `file` (of `len` bytes) backwards block by block, giving each block's
/// bytes to `visit` (last block first) until it returns false or the start is
/// reached.
fn read_backwards(file: &File, len: u64, mut visit: impl FnMut(&[u8]) -> bool) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut end = len;
    let mut buf = vec![0u8; usize::try_from(TAIL_BLOCK).unwrap_or(65536)];
    while end > 0 {
        let start = end.saturating_sub(TAIL_BLOCK);
        let block = &mut buf[..usize::try_from(end - start).unwrap_or(0)];
        file.read_exact_at(block, start)?;
        if !visit(block) {
            break;
        }
        end = start;
    }
    Ok(())
}

/// How many non-blank lines `file` has, and whether it lacks a final newline.
/// Counting goes from the end and stops in the first block where the count
/// passes `limit`: past it, the number is a lower bound.
pub(super) fn tail_facts(file: &File, len: u64, limit: usize) -> io::Result<(usize, bool)> {
    let mut needs_newline = false;
    let mut count = 0usize;
    let mut content = false;
    let mut first = true;
    read_backwards(file, len, |block| {
        if first {
            first = false;
            needs_newline = block.last().is_some_and(|b| *b != b'\n');
        }
        for b in block.iter().rev() {
            if *b == b'\n' {
                if content {
                    count += 1;
                    content = false;
                }
            } else if !b.is_ascii_whitespace() {
                content = true;
            }
        }
        count <= limit
    })?;
    if content {
        count += 1;
    }
    Ok((count, needs_newline))
}

/// Longest line kept: an alert record is a few hundred bytes; a longer line is
/// garbage, and gathering it would cost memory and copies for nothing.
const MAX_LINE: usize = 1 << 20;

/// The newest `n` lines of `file` that `accept` takes, oldest first, reading
/// backwards: memory is bounded by what is kept, not by the file. Lines
/// longer than [`MAX_LINE`] are skipped.
pub(super) fn newest_lines(
    file: &File,
    n: usize,
    accept: impl Fn(&[u8]) -> bool,
) -> io::Result<Vec<Vec<u8>>> {
    let len = file.metadata()?.len();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    // Bytes of the line that continues into the previous block, in file order;
    // `oversized` once it has passed MAX_LINE (its bytes are then dropped).
    let mut partial: Vec<u8> = Vec::new();
    let mut oversized = false;
    let take = |line: &[u8], kept: &mut Vec<Vec<u8>>| {
        if !line.iter().all(u8::is_ascii_whitespace) && accept(line) {
            kept.push(line.to_vec());
        }
    };
    read_backwards(file, len, |block| {
        let mut end = block.len();
        for i in (0..block.len()).rev() {
            if block[i] == b'\n' {
                if !std::mem::take(&mut oversized) {
                    let mut line = block[i + 1..end].to_vec();
                    line.extend_from_slice(&partial);
                    take(&line, &mut kept);
                    if kept.len() >= n {
                        return false;
                    }
                }
                partial.clear();
                end = i;
            }
        }
        if oversized || partial.len() + end > MAX_LINE {
            oversized = true;
            partial.clear();
        } else {
            let mut rest = block[..end].to_vec();
            rest.extend_from_slice(&partial);
            partial = rest;
        }
        true
    })?;
    if kept.len() < n && !oversized && !partial.is_empty() {
        take(&partial, &mut kept);
    }
    kept.reverse();
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_huge_line_is_skipped_not_gathered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"old\n").unwrap();
        f.write_all(&vec![b'x'; 3 * MAX_LINE]).unwrap();
        f.write_all(b"\nnew1\nnew2\n").unwrap();
        drop(f);
        let file = File::open(&path).unwrap();
        let lines = newest_lines(&file, 10, |_| true).unwrap();
        assert_eq!(
            lines,
            vec![b"old".to_vec(), b"new1".to_vec(), b"new2".to_vec()]
        );
    }
}
