//! The configurations shipped in examples/ stay valid.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_demo_configuration_is_valid() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clpcfctrl"))
        .args(["--check", "--strict", "-x"])
        .arg(&dir)
        .env("CLP_ROOT", root.path())
        .env("CLP_HOSTNAME", "demo-node")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("valid: cluster demo"), "{stdout}");
}
