//! Clusters of several servers on one machine (Corosync in network
//! namespaces): formation, a node killed and back, clpd before Corosync; the
//! whole cluster in every status.json; a push reaching every server; the
//! server sync wait at startup.

mod distribution;
mod flapping;
mod harness;
mod membership;
mod remote;
mod selfcheck;
mod startup;
mod status;
