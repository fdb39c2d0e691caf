//! Any sequence of clpcfset words: the builder answers or refuses, never panics.
#![no_main]

use clp::config::builder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let mut doc = None;
    let _ = builder::apply(&mut doc, &["create".into(), "c".into(), "ASCII".into()]);
    for line in data.lines().take(64) {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        let _ = builder::apply(&mut doc, &words);
    }
});
