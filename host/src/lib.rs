//! chat1c-host: a 1C-faithful host for 1C:Enterprise Native API add-ins.
//!
//! The platform side (connection, memory manager, calls through `IComponentBase`) is C++
//! compiled against 1C's official headers (see `build.rs` and `cpp/host.cpp`); this crate is the
//! safe Rust API over it:
//!
//! ```no_run
//! use chat1c_host::{Library, Options, Value};
//! let lib = Library::load(chat1c_host::addin_path()).unwrap();
//! let mut chat = lib.create("Chat", &Options::default()).unwrap();
//! chat.call("Open", &[Value::str("/tmp/chat.db"), Value::str("alice")]).unwrap();
//! let events = chat.events();
//! for ev in events.pump() { println!("{} {} {}", ev.source, ev.message, ev.data) }
//! chat.destroy();
//! assert!(chat1c_host::violations().is_empty());
//! ```
//!
//! What 1C does and this host does too: load (`GetClassNames`, `SetPlatformCapabilities`,
//! `GetAttachType`), create (`GetClassObject`, `Init`, `setMemManager`, `GetInfo`,
//! `RegisterExtensionAs`, `SetLocale`, `SetUserInterfaceLanguageCode`, names for alias 0 and 1),
//! call by name with BSL semantics, free every buffer the add-in hands over through the tracked
//! memory manager, queue external events (depth 1 at start), and `Done` + `DestroyObject`.
//! Everything the add-in gets wrong is recorded as a *violation* (see [`violations`]).

mod client;
mod error;
mod events;
mod ffi;
mod library;
mod locate;
mod object;
pub mod testing;
mod value;
mod vars;
mod violations;
mod wide;

pub use client::Client;
pub use error::{AddedError, CallError, HostError};
pub use events::{mono_ns, Event, EventStats, Events};
pub use library::{Library, PLATFORM_CAPABILITIES};
pub use locate::{addin_path, cli_path};
pub use object::{Destroyed, Object, Options};
pub use value::Value;
pub use violations::{live_allocations, violations, violations_of};
