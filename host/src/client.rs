//! Another simulated 1C client: the host CLI in its own process, driven over its
//! JSON-lines protocol. Used by cross-process tests, benchmarks and the demo.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value as Json};

pub struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Event lines seen while waiting for command results, in arrival order.
    pub events: Vec<Json>,
}

impl Client {
    /// Starts the CLI found by [`crate::cli_path`] on [`crate::addin_path`].
    pub fn start(args: &[&str]) -> Client {
        Client::start_with(&crate::cli_path(), &crate::addin_path(), args)
    }

    /// Starts a given CLI binary on a given add-in library; panics with a clear
    /// message when it cannot start or does not say it is ready.
    pub fn start_with(cli: &Path, lib: &Path, args: &[&str]) -> Client {
        Client::start_via(&[], cli, lib, args)
    }

    /// As [`Client::start_with`], with the CLI run by a wrapper command such as
    /// `setpriv --reuid=65534 …` (a client of another OS user).
    pub fn start_via(wrapper: &[&str], cli: &Path, lib: &Path, args: &[&str]) -> Client {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(cli);
                c
            }
            None => Command::new(cli),
        };
        let mut child = command
            .arg("--lib")
            .arg(lib)
            .args(args)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start the host CLI {}: {e}", cli.display()));
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut c = Client {
            child,
            stdin,
            stdout,
            events: Vec::new(),
        };
        let ready = c.line();
        assert_eq!(ready["ready"], true, "CLI ready line: {ready}");
        c
    }

    /// The next output line (panics when the process ended).
    pub fn line(&mut self) -> Json {
        let mut buf = String::new();
        let n = self.stdout.read_line(&mut buf).expect("read CLI output");
        assert!(n > 0, "the host CLI ended unexpectedly");
        serde_json::from_str(&buf).unwrap_or_else(|e| panic!("bad CLI line {buf:?}: {e}"))
    }

    /// Sends one command; returns its result line (event lines go to `events`).
    pub fn cmd(&mut self, cmd: Json) -> Json {
        writeln!(self.stdin, "{cmd}").expect("write to CLI");
        self.stdin.flush().expect("flush");
        loop {
            let l = self.line();
            if l.get("event").is_some() {
                self.events.push(l);
            } else {
                return l;
            }
        }
    }

    /// Starts a client process (see [`Client::start`]) and opens `store` as `user` in it;
    /// panics with the answer when Open fails.
    pub fn opened(args: &[&str], store: &str, user: &str) -> Client {
        let mut c = Client::start(args);
        let r = c.call("Open", json!([store, user]));
        assert_eq!(r["ok"], true, "Open {user}: {r}");
        c
    }

    /// Calls a method by name as BSL would.
    pub fn call(&mut self, name: &str, args: Json) -> Json {
        self.cmd(json!({"cmd": "call", "name": name, "args": args}))
    }

    /// Done + DestroyObject, then waits for the process; returns the destroy line.
    pub fn finish(mut self) -> Json {
        let r = self.cmd(json!({"cmd": "destroy"}));
        drop(self.stdin);
        let _ = self.child.wait();
        r
    }

    /// The process, e.g. to kill it in a crash test.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }
}
