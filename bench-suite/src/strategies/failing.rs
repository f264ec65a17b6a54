//! For tests: a cache server whose commands failed, on a strategy of the registry.

use super::{External, Registry, ServerBytes, Strategy};

/// A server whose commands failed as many times as it holds.
pub(crate) struct Failed(pub(crate) u64);

impl External for Failed {
    fn ready(&self) -> Result<(), String> {
        Ok(())
    }
    fn counted_by(&self) -> Result<String, String> {
        Ok("nothing".to_owned())
    }
    fn memory(&self, _settled: bool) -> Result<ServerBytes, String> {
        Ok(ServerBytes { data: 0, rss: None })
    }
    fn failures(&self) -> u64 {
        self.0
    }
    fn first_failure(&self) -> Option<String> {
        (self.0 > 0).then(|| "GET on redis://:***@db/0: timed out".to_owned())
    }
    fn child_env(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// `lru`, and `ttlfifo` as if its entries lived in a server whose commands failed `failures`
/// times.
pub(crate) fn with_server(failures: u64) -> Vec<Strategy> {
    let ours = Registry::ours();
    vec![
        ours.require("lru").unwrap(),
        ours.require("ttlfifo")
            .unwrap()
            .external_memory(Failed(failures)),
    ]
}
