//! Where the add-in library and the host CLI under test are, built first when running
//! under cargo so a test never drives stale code.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The target profile folder of the running executable (target/<profile>), also for tests
/// (whose executables live in target/<profile>/deps).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir
        .file_name()
        .is_some_and(|n| n == "deps" || n == "examples")
    {
        dir.pop();
    }
    dir
}

/// Runs `cargo build -p <package>` for the running executable's target folder and
/// profile, once per process, when running under cargo (`CARGO` is set). `cargo test`
/// does not re-link the cdylib nor build other packages' binaries, and a stale
/// library would test old code; cargo makes this a no-op when nothing changed.
fn ensure_built(package: &'static str, done: &'static OnceLock<()>) {
    done.get_or_init(|| {
        let Some(cargo) = std::env::var_os("CARGO") else {
            return;
        };
        let dir = profile_dir();
        let profile = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "debug".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("Cargo.toml");
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-q", "-p", package])
            .arg("--manifest-path")
            .arg(workspace);
        // The test runner's per-crate variables (CARGO_MANIFEST_DIR, CARGO_PKG_*) would
        // dirty build scripts that watch them (ring does) and rebuild every time.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("CARGO_") && key != "CARGO_HOME" && !key.starts_with("CARGO_TARGET_")
            {
                cmd.env_remove(key);
            }
        }
        if profile != "debug" {
            cmd.args(["--profile", &profile]);
        }
        if let Some(target) = dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        match cmd.status() {
            Ok(s) if s.success() => {}
            other => eprintln!("chat1c-host: `cargo build -p {package}` failed: {other:?}"),
        }
    });
}

/// The add-in library to test: env `CHAT1C_LIB`, else libchat1c.so / libchat1c.dylib /
/// chat1c.dll in the running executable's target profile folder (built first when
/// running under cargo).
pub fn addin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CHAT1C_LIB") {
        return PathBuf::from(p);
    }
    static BUILT: OnceLock<()> = OnceLock::new();
    ensure_built("chat1c", &BUILT);
    profile_dir().join(format!(
        "{}chat1c{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// The CLI binary: env `CHAT1C_HOST_CLI`, else `target/<profile>/chat1c-host` (built
/// first when running under cargo).
pub fn cli_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CHAT1C_HOST_CLI") {
        return PathBuf::from(p);
    }
    static BUILT: OnceLock<()> = OnceLock::new();
    ensure_built("chat1c-host", &BUILT);
    profile_dir().join(format!("chat1c-host{}", std::env::consts::EXE_SUFFIX))
}
