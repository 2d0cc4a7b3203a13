//! The engine registry: engine name -> factory.
//!
//! Used by the `kv` command line and by the benchmark harness to open any
//! engine by name at run time as a `Box<dyn Store>`.

use std::path::Path;

use kv_core::{Error, Result, Store, SyncPolicy};

/// What the registry knows about one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineInfo {
    /// Name used on the command line (`--engine NAME`).
    pub name: &'static str,
    /// One line: what it is.
    pub description: &'static str,
    /// True for kvlab's own engines, false for peers and harness engines.
    pub ours: bool,
    /// True if data survives reopening the directory.
    pub persistent: bool,
}

/// How to open an engine.
#[derive(Debug, Clone)]
pub struct OpenConfig {
    /// When writes become durable (peers are mapped to the same semantics).
    pub sync: SyncPolicy,
}

impl Default for OpenConfig {
    fn default() -> Self {
        Self {
            sync: SyncPolicy::Manual,
        }
    }
}

/// Every engine available in this build, ours first.
pub fn engines() -> Vec<EngineInfo> {
    vec![EngineInfo {
        name: "memory",
        description: "in-memory BTreeMap reference store (nothing persists)",
        ours: true,
        persistent: false,
    }]
}

/// Names of every engine in this build, comma-separated, for error messages.
pub fn engine_names() -> String {
    engines()
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Looks up an engine by name.
///
/// # Errors
/// `InvalidArgument` naming the engines that exist when `name` is unknown.
pub fn info(name: &str) -> Result<EngineInfo> {
    engines()
        .into_iter()
        .find(|e| e.name == name)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown engine '{name}'; available engines: {}",
                engine_names()
            ))
        })
}

/// Opens engine `name` on directory `path` (created if missing).
///
/// # Errors
/// `InvalidArgument` for an unknown name; otherwise whatever the engine's
/// open returns (`Locked`, `Corruption`, I/O).
pub fn open(name: &str, path: &Path, config: &OpenConfig) -> Result<Box<dyn Store>> {
    let _ = (path, config);
    match info(name)?.name {
        "memory" => Ok(Box::new(kv_core::testkit::MemStore::new())),
        other => Err(Error::InvalidArgument(format!(
            "engine '{other}' is registered but has no factory"
        ))),
    }
}
