//! Engineering data: records reported by code hosts, CI and incident tools
//! (pull requests, deployments, incidents, pipelines, tracked bugs), raw
//! webhook deliveries and their batched ingest (`records`), git history
//! (`git`), and work items and parent links reported by an issue tracker
//! (`tracker`), and the queue of pull request commit fetches (`fetches`). The delivery metrics derived from them are `crate::metrics`.

pub(crate) mod fetches;
pub(crate) mod git;
pub(crate) mod growth;
pub(crate) mod records;
pub(crate) mod tracker;
