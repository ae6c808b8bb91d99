//! Many client processes, each as its own OS user where this process can switch users,
//! as on a terminal server where every 1C client runs as its user. It matters: Linux
//! gives each user 128 inotify instances (`fs.inotify.max_user_instances`), and a
//! process watching a store holds two.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chat1c_host::{Client, Library};

use crate::kid::Kid;
use crate::open;

/// The first uid given to client processes (uids need no account for setpriv).
pub const FIRST_UID: u32 = 20_000;

pub enum Users {
    /// Copies of the host CLI, the add-in and this benchmark that any user can run.
    PerUser {
        bin: PathBuf,
    },
    SameUser,
}

fn as_user(uid: u32) -> Vec<String> {
    vec![
        "setpriv".into(),
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".into(),
    ]
}

fn copy_into(bin: &Path, from: &Path, name: &str) -> bool {
    std::fs::copy(from, bin.join(name)).is_ok()
}

impl Users {
    /// Per user when `setpriv` can switch to another user and that user can run the
    /// copies made in `scratch`/bin.
    pub fn choose(scratch: &Path) -> Users {
        let bin = scratch.join("bin");
        let reachable = std::fs::Permissions::from_mode(0o755);
        let copied = std::fs::create_dir_all(&bin).is_ok()
            && std::fs::set_permissions(scratch, reachable.clone()).is_ok()
            && std::fs::set_permissions(&bin, reachable).is_ok()
            && copy_into(&bin, &chat1c_host::cli_path(), "chat1c-host")
            && copy_into(&bin, &chat1c_host::addin_path(), "libchat1c.so")
            && std::env::current_exe().is_ok_and(|me| copy_into(&bin, &me, "chat1c-bench"));
        let runs = copied
            && Command::new("setpriv")
                .args(&as_user(FIRST_UID)[1..])
                .args(["test", "-x"])
                .arg(bin.join("chat1c-host"))
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if runs {
            Users::PerUser { bin }
        } else {
            Users::SameUser
        }
    }

    /// Says how the clients run; notes when those past the inotify limit will poll.
    pub fn describe(&self, clients: usize) -> Option<String> {
        match (self, inotify_instances()) {
            (Users::PerUser { .. }, _) => {
                println!("   each client process runs as its own OS user (uid {FIRST_UID}…)");
                None
            }
            (Users::SameUser, Some(max)) if max < 2 * clients => Some(format!(
                "all client processes run as one OS user (cannot switch users here), so those \
                 past fs.inotify.max_user_instances = {max} (two per process) get no file \
                 events and poll every 300 ms"
            )),
            (Users::SameUser, _) => {
                println!("   all client processes run as this OS user");
                None
            }
        }
    }

    /// The host CLI as client `k`.
    pub fn client(&self, k: u32, args: &[&str]) -> Client {
        match self {
            Users::PerUser { bin } => {
                let wrapper = as_user(FIRST_UID + k);
                let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
                let (cli, lib) = (bin.join("chat1c-host"), bin.join("libchat1c.so"));
                Client::start_via(&wrapper, &cli, &lib, args)
            }
            Users::SameUser => Client::start(args),
        }
    }

    /// This benchmark in a role, as client `k`.
    pub fn kid(&self, k: u32, role: &[&str]) -> Kid {
        match self {
            Users::PerUser { bin } => {
                let mut command = as_user(FIRST_UID + k);
                command.push(bin.join("chat1c-bench").display().to_string());
                let command: Vec<&str> = command.iter().map(String::as_str).collect();
                Kid::spawn_via(&command, role)
            }
            Users::SameUser => Kid::spawn(role),
        }
    }
}

/// inotify instances one user may hold.
fn inotify_instances() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/fs/inotify/max_user_instances")
        .ok()
        .and_then(|v| v.trim().parse().ok())
}

/// A folder and a store every user can open: made here, then opened to all (SQLite
/// gives the -wal and -shm it creates later the main file's mode).
pub fn shared_store(lib: &Library, dir: &Path) -> String {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
        .expect("open the store folder");
    let store = dir.join("chat.sqlite");
    let location = store.display().to_string();
    open(lib, &location, "writer").destroy();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o666))
        .expect("open the store");
    location
}
