//! Loading a config into an engine. Every command reads configs through here, so a
//! second config format (flagd's) plugs in as one more [`ConfigFormat`] variant: its
//! detection in [`ConfigFormat::detect`] and its conversion in [`ConfigFormat::load`].

use featureflags::{ConfigError, Engine, EngineOptions, LoadError, Loaded, Problem};

use crate::common::{read_input, CliError, CliResult};

/// The formats a config can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConfigFormat {
    /// Decided from the document.
    Auto,
    /// This engine's `schema_version: 1` document (docs/config.md).
    Native,
}

/// Why a config could not be loaded.
pub enum Rejection {
    /// The document was read but is not a valid config: its problems.
    Invalid(ConfigError),
    /// It could not be read.
    Io(String),
}

impl ConfigFormat {
    /// The concrete format of `bytes` under this choice.
    pub fn detect(self, _bytes: &[u8]) -> ConfigFormat {
        match self {
            ConfigFormat::Auto => ConfigFormat::Native,
            chosen => chosen,
        }
    }

    /// Validates, compiles and installs `bytes` into `engine`.
    pub fn load(self, engine: &Engine, bytes: &[u8]) -> Result<Loaded, Rejection> {
        match self.detect(bytes) {
            ConfigFormat::Auto | ConfigFormat::Native => engine.load_json(bytes).map_err(|e| match e {
                LoadError::Invalid(e) => Rejection::Invalid(e),
                other => Rejection::Io(other.to_string()),
            }),
        }
    }
}

impl ConfigFormat {
    /// Validates and compiles `bytes` without installing them (what `validate` needs).
    pub fn check(self, engine: &Engine, bytes: &[u8]) -> Result<Loaded, Rejection> {
        match self.detect(bytes) {
            ConfigFormat::Auto | ConfigFormat::Native => engine.check_json(bytes).map_err(Rejection::Invalid),
        }
    }
}

/// An engine with the config at `path` (`-` for stdin) loaded, its clock fixed at `at`
/// (Unix ms; now when `None`), and its rollouts where they stand then with health
/// holding (see [`crate::simulate::advance_rollouts`]).
pub fn engine_with(path: &str, format: ConfigFormat, at: Option<i64>) -> CliResult<(Engine, Loaded)> {
    let bytes = read_input(path)?;
    let engine = Engine::new(EngineOptions::default());
    let loaded = match format.load(&engine, &bytes) {
        Ok(loaded) => loaded,
        Err(Rejection::Io(m)) => return Err(CliError::usage(format!("{path}: {m}"))),
        Err(Rejection::Invalid(e)) => return Err(CliError::finding(problem_lines(path, &e).join("\n"))),
    };
    let at = at.unwrap_or_else(|| engine.now_ms());
    if loaded.rollouts.is_empty() {
        engine.set_time(at).map_err(|e| CliError::usage(format!("--at: {e}")))?;
    } else {
        let document = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        crate::simulate::advance_rollouts(&engine, &document, at)?;
    }
    Ok((engine, loaded))
}

/// An engine with the config at `path` loaded and nothing else done: its clock is the
/// system's and its rollouts where a fresh engine has them.
pub fn engine_fresh(path: &str, format: ConfigFormat) -> CliResult<Engine> {
    let bytes = read_input(path)?;
    let engine = Engine::new(EngineOptions::default());
    match format.load(&engine, &bytes) {
        Ok(_) => Ok(engine),
        Err(Rejection::Io(m)) => Err(CliError::usage(format!("{path}: {m}"))),
        Err(Rejection::Invalid(e)) => Err(CliError::finding(problem_lines(path, &e).join("\n"))),
    }
}

/// `file:path: message`, one per problem, then the count of problems not listed.
pub fn problem_lines(file: &str, e: &ConfigError) -> Vec<String> {
    let mut lines: Vec<String> =
        e.problems.iter().map(|Problem { path, message }| format!("{file}:{path}: {message}")).collect();
    if e.more_problems > 0 {
        lines.push(format!("{file}: and {} more problems", e.more_problems));
    }
    lines
}
