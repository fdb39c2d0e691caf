//! Clusters of several servers on one machine (Corosync in network
//! namespaces): formation, a node killed and back, clpd before Corosync; a push reaching every server.

mod distribution;
mod harness;
mod membership;
mod remote;
