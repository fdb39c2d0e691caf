//! The configuration clpd runs when none is installed: a single-server cluster
//! named after the host, with the userw monitor, as FailSafe ships.

use crate::config::{ConfigFile, Report, builder, validate};
use crate::error::{ClpError, Result};
use crate::model::Cluster;

/// The default configuration for host `host`.
pub fn default_config(host: &str) -> Result<(ConfigFile, Cluster)> {
    let mut doc = None;
    let lines = [
        format!("create {host} ASCII"),
        format!("add srv {host} 0"),
        format!("add device {host} lan 0 127.0.0.1"),
        "add hb lanhb 0 0".to_string(),
        "add mon userw userw".to_string(),
        "add monparam userw userw relation/type cls".to_string(),
        "add monparam userw userw relation/name LocalServer".to_string(),
    ];
    for line in lines {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        builder::apply(&mut doc, &words)?;
    }
    let doc = doc.ok_or_else(|| {
        ClpError::new(
            crate::ErrorKind::Internal,
            "the default configuration is empty",
        )
    })?;
    let mut report = Report::new("(default configuration)");
    let opts = validate::Options {
        local_server: Some(host),
        scripts_dir: None,
    };
    let cluster = validate::validate(&doc, &opts, &mut report).ok_or_else(|| {
        ClpError::new(
            crate::ErrorKind::Internal,
            format!("the default configuration is invalid:\n{report}"),
        )
    })?;
    Ok((
        ConfigFile {
            doc,
            encoding: "ASCII".into(),
        },
        cluster,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_is_valid_and_named_after_the_host() {
        let (_, cluster) = super::default_config("web01").unwrap();
        assert_eq!(cluster.name, "web01");
        assert_eq!(cluster.local_server, "web01");
        assert_eq!(cluster.monitors.len(), 1);
        assert_eq!(cluster.monitors[0].name, "userw");
        assert!(cluster.groups.is_empty());
    }
}
