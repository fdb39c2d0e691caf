//! Clusters of several servers on one machine (Corosync in network
//! namespaces): formation, a node killed and back, clpd before Corosync; the
//! whole cluster in every status.json; a push reaching every server; the
//! server sync wait at startup; clplogcc and clpcfctrl -h against the
//! other servers.

mod distribution;
mod harness;
mod logcc;
mod membership;
mod remote;
mod startup;
mod status;
