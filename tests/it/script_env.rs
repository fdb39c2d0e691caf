//! The environment of scripts: clean and documented (clp-scripts(7)), not
//! whatever clpd inherited from the session that started it.

use std::collections::HashMap;

use crate::daemon::{CLPD, Rig, conf, exec};

fn env_file(rig: &Rig) -> HashMap<String, String> {
    let path = rig.t().join("env.txt");
    rig.wait_for("the script's env.txt", || {
        let text = std::fs::read_to_string(&path).ok()?;
        text.ends_with("END=1\n").then_some(text)
    })
    .lines()
    .filter_map(|l| l.split_once('='))
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn scripts_get_a_clean_environment_not_clpds() {
    let mut rig = Rig::new();
    // What an operator's login session could hand to clpd.
    rig.setenv("OPERATOR_SECRET", "s3cr3t");
    rig.setenv("HOME", "/home/operator");
    rig.setenv("PATH", "/home/operator/bin:/usr/bin:/bin");
    rig.setenv("LANG", "C.UTF-8");
    // Passed on on purpose.
    rig.setenv("APP_CONF", "/etc/app.conf");
    rig.setenv("CLP_SCRIPT_ENV", "APP_CONF");
    rig.script(
        "g",
        "r",
        "start.sh",
        r#"env > "$T/env.tmp"; echo END=1 >> "$T/env.tmp"; mv "$T/env.tmp" "$T/env.txt""#,
    );
    rig.script("g", "r", "stop.sh", "exit 0");
    rig.install(&conf(&[("g", &[exec("r")])], ""));
    rig.start_online();
    let env = env_file(&rig);
    rig.stop_daemon();

    let bin_dir = std::path::Path::new(CLPD)
        .parent()
        .unwrap()
        .display()
        .to_string();
    assert_eq!(
        env.get("PATH").map(String::as_str),
        Some(
            format!("{bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
                .as_str()
        )
    );
    assert_eq!(env.get("HOME").map(String::as_str), Some("/"));
    assert_eq!(env.get("LANG").map(String::as_str), Some("C.UTF-8"));
    assert_eq!(env.get("OPERATOR_SECRET"), None, "{env:?}");
    assert_eq!(
        env.get("APP_CONF").map(String::as_str),
        Some("/etc/app.conf")
    );
    assert_eq!(
        env.get("CLP_ROOT").map(String::as_str),
        Some(rig.root().to_str().unwrap())
    );
    assert_eq!(env.get("CLP_RESOURCENAME").map(String::as_str), Some("r"));
    assert_eq!(env.get("CLP_EVENT").map(String::as_str), Some("START"));
    // Nothing else from the test's own environment (cargo's variables).
    let unexpected: Vec<_> = env
        .keys()
        .filter(|k| {
            !k.starts_with("CLP_")
                && ![
                    "PATH", "HOME", "LANG", "LC_ALL", "APP_CONF", "END", "PWD", "SHLVL", "_",
                    "OLDPWD",
                ]
                .contains(&k.as_str())
        })
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
}
