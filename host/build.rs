//! Compiles the platform side (cpp/host.cpp) with the C++ compiler against 1C's official
//! Native API headers, which ship in the `addin1c-test` crate (a build-dependency). The headers
//! are located through `cargo metadata`, never copied into this repository.
//! `CHAT1C_ADDIN_INCLUDE` may point at another folder holding the same headers.

use std::path::{Path, PathBuf};
use std::process::Command;

const HEADERS: [&str; 5] = [
    "ComponentBase.h",
    "AddInDefBase.h",
    "IMemoryManager.h",
    "types.h",
    "com.h",
];

fn has_headers(dir: &Path) -> bool {
    HEADERS.iter().all(|h| dir.join(h).is_file())
}

/// Finds `<addin1c-test>/include` from `cargo metadata` output without a JSON dependency:
/// every `"name":"addin1c-test"` occurrence is followed (within its package object) by that
/// package's `"manifest_path"`; the first one whose folder holds the headers wins.
fn include_from_metadata() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?;
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(Path::new(&manifest_dir).join("Cargo.toml"))
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let json = String::from_utf8_lossy(&out.stdout);
    let key = "\"manifest_path\":\"";
    for (pos, _) in json.match_indices("\"name\":\"addin1c-test\"") {
        let rest = &json[pos..];
        let Some(m) = rest.find(key) else { continue };
        let tail = &rest[m + key.len()..];
        let Some(end) = tail.find('"') else { continue };
        // Paths in cargo's JSON escape backslashes (Windows).
        let manifest = PathBuf::from(tail[..end].replace("\\\\", "\\"));
        if let Some(dir) = manifest.parent() {
            let inc = dir.join("include");
            if has_headers(&inc) {
                return Ok(inc);
            }
        }
    }
    Err("addin1c-test with include/ComponentBase.h not found in cargo metadata".into())
}

fn main() {
    println!("cargo:rerun-if-changed=cpp/host.cpp");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CHAT1C_ADDIN_INCLUDE");

    let include = match std::env::var_os("CHAT1C_ADDIN_INCLUDE") {
        Some(dir) => PathBuf::from(dir),
        None => include_from_metadata().unwrap_or_else(|e| panic!("1C headers: {e}")),
    };
    assert!(
        has_headers(&include),
        "1C headers missing in {}",
        include.display()
    );

    let target = std::env::var("TARGET").unwrap_or_default();
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .file("cpp/host.cpp")
        .include(&include)
        .warnings(false);
    if target.contains("windows") {
        build.define("_WINDOWS", None);
    } else {
        build.flag_if_supported("-std=c++11");
    }
    build.compile("chat1c_host_cpp");
    if !target.contains("windows") && !target.contains("apple") {
        println!("cargo:rustc-link-lib=dl");
    }

    // Tests compile a deliberately broken C++ add-in against the same headers with the same compiler.
    let compiler = build.get_compiler();
    println!("cargo:rustc-env=CHAT1C_HOST_INCLUDE={}", include.display());
    println!(
        "cargo:rustc-env=CHAT1C_HOST_CXX={}",
        compiler.path().display()
    );
}
