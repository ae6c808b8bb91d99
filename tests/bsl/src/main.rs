//! `chat1c-bsl-check [FILE.bsl|FILE.md ...]` — syntax-check BSL files (and ```bsl blocks
//! in Markdown); with no arguments checks package/bsl/*.bsl. Exit 1 on any error.

use chat1c_bsl_check::{markdown_bsl_blocks, package_bsl_files, syntax_errors};
use std::path::PathBuf;

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let files = if args.is_empty() { package_bsl_files() } else { args };
    let mut bad = 0;
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                bad += 1;
                continue;
            }
        };
        let chunks = if f.extension().is_some_and(|x| x == "md") {
            markdown_bsl_blocks(&text)
        } else {
            vec![(1, text)]
        };
        for (first_line, chunk) in chunks {
            for e in syntax_errors(&chunk) {
                eprintln!("{}:{}:{}: {}", f.display(), e.line + first_line - 1, e.column, e.what);
                bad += 1;
            }
        }
    }
    if bad == 0 {
        println!("ok: {} file(s) parse without errors", files.len());
    }
    std::process::exit(if bad == 0 { 0 } else { 1 });
}
