//! stub
#[derive(clap::Args)]
pub struct Args {}
pub fn run(_a: Args) -> crate::common::CliResult {
    Ok(std::process::ExitCode::SUCCESS)
}
