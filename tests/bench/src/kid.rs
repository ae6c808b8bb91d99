//! Child processes of this binary in a role (see `roles`), spoken to by lines.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A child process of this binary in some role, spoken to by lines.
pub struct Kid {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Kid {
    pub fn spawn(role: &[&str]) -> Kid {
        let me = std::env::current_exe().unwrap().display().to_string();
        Kid::spawn_via(&[&me], role)
    }

    /// Runs `command` (this benchmark's binary, maybe behind a wrapper) in a role.
    pub fn spawn_via(command: &[&str], role: &[&str]) -> Kid {
        let mut child = Command::new(command[0])
            .args(&command[1..])
            .arg("--role")
            .args(role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn a bench child");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut k = Kid {
            child,
            stdin,
            stdout,
        };
        let ready = k.line();
        assert_eq!(ready, "ready", "child {role:?} did not start");
        k
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn line(&mut self) -> String {
        let mut b = String::new();
        let n = self.stdout.read_line(&mut b).unwrap();
        assert!(n > 0, "bench child ended");
        b.trim_end().to_string()
    }

    pub fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.line()
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "q");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}
