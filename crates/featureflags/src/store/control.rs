//! Control-plane rows: the last loaded config, overrides, declared winners and rollout
//! state. Each change is one transaction, committed (and fsynced) before the engine
//! changes anything in memory.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, OptionalExtension};

use super::{StateError, Store};

/// The control plane as stored.
#[derive(Debug, Default)]
pub(crate) struct SavedControls {
    /// The last config that loaded.
    pub(crate) config: Option<Vec<u8>>,
    pub(crate) overrides: BTreeMap<String, String>,
    pub(crate) winners: BTreeMap<String, String>,
    /// Rollout key → its runtime as JSON.
    pub(crate) rollouts: HashMap<String, String>,
}

impl Store {
    pub(crate) fn read_controls(&self) -> Result<SavedControls, StateError> {
        let conn = self.conn();
        let fail = |e| self.fail(e);
        let config = conn
            .query_row("SELECT document FROM config WHERE id = 1", [], |r| r.get::<_, Vec<u8>>(0))
            .optional()
            .map_err(fail)?;
        let pairs = |sql: &str| -> Result<Vec<(String, String)>, StateError> {
            let mut stmt = conn.prepare(sql).map_err(fail)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(fail)?;
            rows.collect::<Result<_, _>>().map_err(fail)
        };
        Ok(SavedControls {
            config,
            overrides: pairs("SELECT flag, variant FROM overrides")?.into_iter().collect(),
            winners: pairs("SELECT experiment, variant FROM winners")?.into_iter().collect(),
            rollouts: pairs("SELECT rollout, runtime FROM rollouts")?.into_iter().collect(),
        })
    }

    /// Stores `flag`'s override (`None` clears it).
    pub(crate) fn save_override(&self, flag: &str, variant: Option<&str>) -> Result<(), StateError> {
        let conn = self.conn();
        let done = match variant {
            Some(v) => {
                conn.execute("INSERT OR REPLACE INTO overrides (flag, variant) VALUES (?1, ?2)", params![flag, v])
            }
            None => conn.execute("DELETE FROM overrides WHERE flag = ?1", params![flag]),
        };
        done.map(drop).map_err(|e| self.fail(e))
    }

    pub(crate) fn save_winner(&self, experiment: &str, variant: &str) -> Result<(), StateError> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR REPLACE INTO winners (experiment, variant) VALUES (?1, ?2)",
            params![experiment, variant],
        )
        .map(drop)
        .map_err(|e| self.fail(e))
    }

    /// Stores the runtimes in `changed` (key, JSON) and, when `kept` is given, forgets
    /// every rollout not in it: a reload drops the rollouts its config no longer has.
    /// With `config`, also stores the document that was loaded, in the same transaction.
    pub(crate) fn save_rollouts(
        &self,
        changed: &[(String, String)],
        kept: Option<&[&str]>,
        config: Option<(&[u8], i64)>,
    ) -> Result<(), StateError> {
        let mut conn = self.conn();
        let fail = |e| self.fail(e);
        let tx = conn.transaction().map_err(fail)?;
        if let Some((document, at_ms)) = config {
            tx.execute(
                "INSERT OR REPLACE INTO config (id, document, loaded_at_ms) VALUES (1, ?1, ?2)",
                params![document, at_ms],
            )
            .map_err(fail)?;
        }
        if let Some(kept) = kept {
            let stored: Vec<String> = {
                let mut stmt = tx.prepare("SELECT rollout FROM rollouts").map_err(fail)?;
                let rows = stmt.query_map([], |r| r.get(0)).map_err(fail)?;
                rows.collect::<Result<_, _>>().map_err(fail)?
            };
            for key in stored.iter().filter(|k| !kept.contains(&k.as_str())) {
                tx.execute("DELETE FROM rollouts WHERE rollout = ?1", params![key]).map_err(fail)?;
            }
        }
        {
            let mut put =
                tx.prepare("INSERT OR REPLACE INTO rollouts (rollout, runtime) VALUES (?1, ?2)").map_err(fail)?;
            for (key, runtime) in changed {
                put.execute(params![key, runtime]).map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)
    }
}
