//! Clusters of several servers on one machine (Corosync in network
//! namespaces): formation, a node killed and back, clpd before Corosync; the
//! whole cluster in every status.json; a push reaching every server; the
//! server sync wait at startup; `clpcl -s` starting Corosync and clpd; the
//! README's two-server quick start; clplogcc and clpcfctrl -h against the
//! other servers; membership followed through flapping.

mod clpd_stop;
mod db_failover;
mod disk_move;
mod distribution;
mod flapping;
mod harness;
mod hosts;
mod isolation;
mod logcc;
mod membership;
mod moving;
mod observer;
mod partition;
mod partition_trials;
mod placement;
mod quickstart;
mod remote;
mod rest;
mod selfcheck;
mod service;
mod startup;
mod status;
mod witness;
