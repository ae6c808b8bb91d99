//! The Chat object as 1C sees it, without FFI: the method table, argument checks,
//! error texts in the client's language, and the open session.

mod args;
mod errors;
mod methods;
pub mod table;
mod value;

use std::sync::Arc;

pub use args::Args;
pub use errors::{ChatError, Lang};
pub use value::{Arg, ArgType, Ret};

use crate::store::{Change, Store, StoreError};
use crate::watch::{EventSink, Subscription};

/// One open chat: the user's own store connection and the watcher subscription
/// that pushes events to this object.
pub(crate) struct Session {
    store: Box<dyn Store>,
    /// The user's name as the store confirmed it.
    user: String,
    subscription: Option<Subscription>,
}

impl Session {
    fn err(&self, error: StoreError) -> ChatError {
        ChatError::Store {
            error,
            location: self.store.location().to_string(),
        }
    }

    /// Makes a change others must hear of: while it is written the watcher holds this
    /// object's hints, and once committed it skips it (the object knows already).
    fn change<C: Copy + Into<Option<Change>>>(
        &mut self,
        write: impl FnOnce(&mut dyn Store) -> Result<C, StoreError>,
    ) -> Result<C, ChatError> {
        let own = self.subscription.as_ref().map(Subscription::own_change);
        let done = write(self.store.as_mut()).map_err(|e| ChatError::Store {
            error: e,
            location: self.store.location().to_string(),
        })?;
        if let (Some(own), Some(change)) = (&own, done.into()) {
            own.committed(change.rev, change.group);
        }
        Ok(done)
    }
}

#[derive(Default)]
pub struct Chat {
    lang: Lang,
    session: Option<Session>,
    last_error: String,
    sink: Option<Arc<dyn EventSink>>,
}

impl Chat {
    pub fn new() -> Chat {
        Chat::default()
    }

    /// Where this object's events go (the 1C connection); set once at Init.
    pub fn set_event_sink(&mut self, sink: Arc<dyn EventSink>) {
        self.sink = Some(sink);
    }

    pub fn set_language(&mut self, code: &str) {
        self.lang = Lang::from_code(code);
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Calls method `index` of [`table::METHODS`]: the arguments are counted and
    /// their defaults applied here, once, before the handler sees them.
    pub fn call(&mut self, index: usize, args: &[Arg]) -> Result<Ret, ChatError> {
        let method = table::METHODS.get(index).ok_or(ChatError::UnknownMember)?;
        let args = Args::new(method, args)?;
        (method.handler)(self, &args)
    }

    /// A call as 1C makes it: the result goes to `deliver` (the FFI writes it into
    /// 1C's variant), and the outcome of both becomes LastError. On failure, the
    /// text for 1C's exception.
    pub fn invoke(
        &mut self,
        index: usize,
        args: &[Arg],
        deliver: impl FnOnce(Ret) -> Result<(), ChatError>,
    ) -> Result<(), String> {
        let outcome = self.call(index, args).and_then(deliver);
        self.remember(outcome)
    }

    /// Reads property `index` into `deliver`. A successful read leaves LastError as
    /// it is (reading LastError must not clear it); a failure is remembered.
    pub fn read_property(
        &mut self,
        index: usize,
        deliver: impl FnOnce(Ret) -> Result<(), ChatError>,
    ) -> Result<(), String> {
        let Some(value) = self.property(index) else {
            return self.remember(Err(ChatError::UnknownMember));
        };
        match deliver(value) {
            Ok(()) => Ok(()),
            failed => self.remember(failed),
        }
    }

    /// A failure found outside a call (a panic, a write to a read-only property).
    pub fn refuse(&mut self, error: ChatError) -> String {
        self.remember(Err(error)).err().unwrap_or_default()
    }

    /// The one place LastError is set: "" after a success, the text after a failure.
    fn remember(&mut self, outcome: Result<(), ChatError>) -> Result<(), String> {
        self.last_error = match &outcome {
            Ok(()) => String::new(),
            Err(e) => e.text(self.lang),
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(_) => Err(self.last_error.clone()),
        }
    }

    pub fn property(&self, index: usize) -> Option<Ret> {
        table::PROPERTIES.get(index).map(|p| (p.get)(self))
    }

    /// Ends the session (Close, Done): after this returns no event is sent for it.
    pub fn close(&mut self) {
        self.session = None;
    }

    fn session(&mut self) -> Result<&mut Session, ChatError> {
        self.session.as_mut().ok_or(ChatError::NotOpen)
    }

    fn user(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.user.as_str())
    }

    fn store_location(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.store.location())
    }

    fn is_open(&self) -> bool {
        self.session.is_some()
    }

    fn last_error(&self) -> &str {
        &self.last_error
    }
}
