//! Loading a config into an engine. Every command reads configs through here: the native
//! format and flagd's flag definitions (docs/flagd.md), told apart by
//! [`ConfigFormat::detect`]. `validate` checks both; the commands that evaluate
//! (`eval`, `explain`, `simulate`, `diff`) read the native format.

use featureflags::{ConfigError, Engine, EngineOptions, FlagdLoadError, LoadError, Loaded, Problem};

use crate::common::{read_input, CliError, CliResult};

/// The formats a config can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConfigFormat {
    /// Decided from the document.
    Auto,
    /// This engine's `schema_version: 1` document (docs/config.md).
    Native,
    /// flagd's flag definitions (docs/flagd.md).
    Flagd,
}

/// Why a config could not be loaded.
pub enum Rejection {
    /// The document was read but is not a valid config: its problems.
    Invalid(ConfigError),
    /// It could not be read.
    Io(String),
}

impl ConfigFormat {
    /// The concrete format of `bytes` under this choice. A native config must have
    /// `schema_version`; a document without it whose flags have a `state` or a
    /// `defaultVariant` is flagd's. A byte search, not a parse: big configs are read once.
    pub fn detect(self, bytes: &[u8]) -> ConfigFormat {
        let has = |needle: &[u8]| memchr::memmem::find(bytes, needle).is_some();
        match self {
            ConfigFormat::Auto if has(b"\"schema_version\"") => ConfigFormat::Native,
            ConfigFormat::Auto if has(b"\"state\"") || has(b"\"defaultVariant\"") => ConfigFormat::Flagd,
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
            ConfigFormat::Flagd => Err(Rejection::Io(
                "a flagd document: `validate` checks it; eval, explain, simulate and diff read the native format \
                 (docs/config.md)"
                    .into(),
            )),
        }
    }
}

impl ConfigFormat {
    /// Validates and compiles `bytes` without installing them (what `validate` needs).
    pub fn check(self, engine: &Engine, bytes: &[u8]) -> Result<Loaded, Rejection> {
        match self.detect(bytes) {
            ConfigFormat::Auto | ConfigFormat::Native => engine.check_json(bytes).map_err(Rejection::Invalid),
            ConfigFormat::Flagd => check_flagd(engine, bytes),
        }
    }
}

/// A flagd document: flagd loads the valid flags and serves PARSE_ERROR for the others,
/// so each invalid flag is a problem at `flags.<key>`, and the document fails validation.
fn check_flagd(engine: &Engine, bytes: &[u8]) -> Result<Loaded, Rejection> {
    let one = |message: String| ConfigError { problems: vec![Problem { path: "$".into(), message }], more_problems: 0 };
    let loaded = engine.load_flagd_json(bytes).map_err(|e| match e {
        FlagdLoadError::Io(m) => Rejection::Io(m),
        other => Rejection::Invalid(one(other.to_string())),
    })?;
    if !loaded.invalid.is_empty() {
        let problems: Vec<Problem> = loaded
            .invalid
            .iter()
            .map(|(key, message)| Problem { path: format!("flags.{key}"), message: message.clone() })
            .collect();
        let shown = problems.len().min(featureflags::MAX_PROBLEMS);
        let more_problems = problems.len() - shown;
        return Err(Rejection::Invalid(ConfigError { problems: problems[..shown].to_vec(), more_problems }));
    }
    let document: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let flags = document["flags"].as_object().map(|f| f.keys().cloned().collect()).unwrap_or_default();
    Ok(Loaded {
        revision: None,
        generation: 0,
        flags,
        experiments: Vec::new(),
        rollouts: Vec::new(),
        funnels: Vec::new(),
    })
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
