//! Syntax check for the BSL that 1C developers copy from package/bsl/: parse with the
//! tree-sitter BSL grammar and report every ERROR or MISSING node, so a slip fails CI.

use std::path::{Path, PathBuf};

/// One syntax problem: 1-based line and column, and what the parser saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub what: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.what)
    }
}

/// The source without a BOM (1C's own exports start .bsl files with one) and its tree,
/// or the one error to report when the parser gives up.
fn parse(source: &str) -> Result<(&str, tree_sitter::Tree), Vec<SyntaxError>> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_bsl::LANGUAGE.into())
        .expect("BSL grammar matches the tree-sitter version");
    match parser.parse(source, None) {
        Some(tree) => Ok((source, tree)),
        None => Err(vec![SyntaxError { line: 0, column: 0, what: "parser gave up".into() }]),
    }
}

/// Every ERROR/MISSING node in `source` (empty = parses cleanly).
pub fn syntax_errors(source: &str) -> Vec<SyntaxError> {
    let (source, tree) = match parse(source) {
        Ok(parsed) => parsed,
        Err(e) => return e,
    };
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    // Depth-first walk over every node; has_error() prunes clean subtrees.
    'walk: loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            let p = node.start_position();
            let text: String = source[node.byte_range()].chars().take(40).collect();
            out.push(SyntaxError {
                line: p.row + 1,
                column: p.column + 1,
                what: if node.is_missing() {
                    format!("missing {}", node.kind())
                } else {
                    format!("unexpected {:?}", text.trim())
                },
            });
        }
        if node.has_error() && !node.is_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    out
}

/// The ```bsl fenced blocks of a Markdown file, with the 1-based line each starts on.
pub fn markdown_bsl_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let t = line.trim_start();
        match current.as_mut() {
            None if t.starts_with("```bsl") || t.starts_with("```1c") => current = Some((i + 2, String::new())),
            Some(_) if t.starts_with("```") => blocks.push(current.take().unwrap()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The repository's BSL files: package/bsl/*.bsl (relative to this crate).
pub fn package_bsl_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../package/bsl");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "bsl"))
        .collect();
    files.sort();
    files
}

/// Words that need platform 8.3.18+ (`Асинх`/`Ждать` and the `…Асинх` methods), found in
/// code only (comments and strings may name them): the kit must run from 8.3.10 up.
pub fn async_words(source: &str) -> Vec<SyntaxError> {
    let (source, tree) = match parse(source) {
        Ok(parsed) => parsed,
        Err(e) => return e,
    };
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let kind = node.kind().to_lowercase();
        if kind.contains("comment") || kind.contains("string") {
            continue;
        }
        if node.child_count() > 0 {
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
            continue;
        }
        let word = source[node.byte_range()].to_lowercase();
        if ["асинх", "async", "ждать", "await"].contains(&word.as_str())
            || word.ends_with("асинх")
            || (word.ends_with("async") && word.len() > 5)
        {
            let p = node.start_position();
            out.push(SyntaxError {
                line: p.row + 1,
                column: p.column + 1,
                what: format!("needs 8.3.18+: {}", &source[node.byte_range()]),
            });
        }
    }
    out.sort_by_key(|e| (e.line, e.column));
    out
}
