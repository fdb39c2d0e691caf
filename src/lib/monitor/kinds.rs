//! placeholder

#[cfg(test)]
pub(crate) mod tests {
    /// One sample element per kind, values off their defaults (tests of the
    /// readers, the detail rows and `clpstat --mon`).
    pub(crate) const SAMPLES: &[(&str, &str)] = &[
        (
            "userw",
            r#"<userw name="userw1"><parameters><method>softdog</method><action>PANIC</action><usehb>0</usehb><repopen>1</repopen><repwrite>1</repwrite><writesize>4096</writesize><mkthread>1</mkthread></parameters></userw>"#,
        ),
        (
            "diskw",
            r#"<diskw name="diskw1"><parameters><object>/dev/sda</object><method>WRITE(FILE)</method><file>/var/tmp/clp.diskw</file><size>4096</size></parameters></diskw>"#,
        ),
        (
            "ipw",
            r#"<ipw name="ipw1"><parameters><list id="0"><ip>192.0.2.1</ip></list><list id="1"><ip>2001:db8::1</ip></list></parameters></ipw>"#,
        ),
        (
            "miiw",
            r#"<miiw name="miiw1"><parameters><object>eth0</object></parameters></miiw>"#,
        ),
        (
            "pidw",
            r#"<pidw name="pidw1"><target>async</target><polling><timing>1</timing></polling></pidw>"#,
        ),
        (
            "psw",
            r#"<psw name="psw1"><parameters><processname>sshd -D</processname><processnum>2</processnum></parameters></psw>"#,
        ),
        (
            "httpw",
            r#"<httpw name="httpw1"><parameters><servername>example.test</servername><port>8080</port><requesturi>/health</requesturi><https>1</https><requesttype>1</requesttype><username>admin</username><password>secret</password></parameters></httpw>"#,
        ),
        (
            "genw",
            r#"<genw name="genw1"><parameters><default>0</default><path>/bin/true</path><sync>0</sync><waitmonstart>3</waitmonstart><normalval>0,2-5</normalval><userlog>/var/log/clp/genw.log</userlog><logrotate><use>1</use><size>2000</size></logrotate><waitstop>1</waitstop></parameters></genw>"#,
        ),
        (
            "mtw",
            r#"<mtw name="mtw1"><parameters><list id="0"><monname>ipw1</monname></list><list id="1"><monname>psw1</monname></list><errthreshold>2</errthreshold><warnthreshold>1</warnthreshold></parameters></mtw>"#,
        ),
        (
            "fipw",
            r#"<fipw name="fipw1"><target>vip</target><parameters><monmii>1</monmii></parameters></fipw>"#,
        ),
    ];
}
