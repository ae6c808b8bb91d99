//! Deflates the chat page (src/page/chat.html, chat.css, chat.js) into OUT_DIR/page.deflate:
//! the three files one after another as one raw DEFLATE stream (133 KB → 37 KB in the binary),
//! and their lengths in OUT_DIR/page_lens.rs. src/page/mod.rs inflates it back, byte for byte.

use std::path::{Path, PathBuf};

const FILES: [&str; 3] = ["chat.html", "chat.css", "chat.js"];

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut all = Vec::new();
    let mut lens = Vec::new();
    // The add-in's folder, or one above it: tests/page/render builds src/page/mod.rs too.
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = manifest
        .ancestors()
        .map(|d| d.join("src/page"))
        .find(|d| d.join(FILES[0]).is_file())
        .expect("src/page/chat.html above the package");
    for name in FILES {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = read(&path);
        lens.push(bytes.len());
        all.extend_from_slice(&bytes);
    }
    // Level 10 is miniz's best ratio; the build compresses once, the page inflates at run time.
    let packed = miniz_oxide::deflate::compress_to_vec(&all, 10);
    let back = miniz_oxide::inflate::decompress_to_vec(&packed).expect("inflate the page");
    assert!(back == all, "the page round-trips");
    std::fs::write(out.join("page.deflate"), packed).expect("write page.deflate");
    std::fs::write(
        out.join("page_lens.rs"),
        format!(
            "/// Lengths of chat.html, chat.css and chat.js in the inflated page.\nconst LENS: [usize; 3] = {lens:?};\n"
        ),
    )
    .expect("write page_lens.rs");
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
