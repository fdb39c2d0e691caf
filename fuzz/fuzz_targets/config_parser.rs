//! Any bytes given as clp.conf: decoding, parsing and validation must return a
//! report, never panic; what parses must survive a write/read round trip.
#![no_main]

use clp::config::{ConfigFile, Report, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut report = Report::new("fuzz");
    let Some(conf) = ConfigFile::parse(data, &mut report) else {
        return;
    };
    let opts = validate::Options { local_server: Some("node1"), scripts_dir: None };
    let model = validate::validate(&conf.doc, &opts, &mut report);
    let bytes = conf.to_bytes();
    let mut again = Report::new("fuzz-again");
    let reread = ConfigFile::parse(&bytes, &mut again).expect("written clp.conf must parse");
    let mut again_report = Report::new("fuzz-again");
    let model_again = validate::validate(&reread.doc, &opts, &mut again_report);
    assert_eq!(model, model_again);
});
