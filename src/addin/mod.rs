//! The Chat object as 1C sees it, without FFI: the method table, argument checks,
//! error texts in the client's language, and the open session.

mod args;
mod errors;
mod methods;
pub mod table;
mod value;

use std::sync::Arc;

pub use errors::{ChatError, Lang};
pub use value::{Arg, Ret};

use crate::store::{Store, StoreError};
use crate::watch::{EventSink, Subscription};

/// One open chat: the user's own store connection and the watcher subscription
/// that pushes events to this object.
pub(crate) struct Session {
    store: Box<dyn Store>,
    user: String,
    user_key: String,
    subscription: Option<Subscription>,
}

impl Session {
    fn err(&self, error: StoreError) -> ChatError {
        ChatError::Store {
            error,
            location: self.store.location().to_string(),
        }
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

    /// Calls method `index` of [`table::METHODS`]; remembers the outcome in LastError.
    pub fn call(&mut self, index: usize, args: &[Arg]) -> Result<Ret, ChatError> {
        let result = match table::METHODS.get(index) {
            Some(m) => (m.handler)(self, args),
            None => Err(ChatError::UnknownMember),
        };
        self.record(&result);
        result
    }

    /// Remembers the outcome of a call for the LastError property.
    pub fn record<T>(&mut self, result: &Result<T, ChatError>) {
        self.last_error = match result {
            Ok(_) => String::new(),
            Err(e) => e.text(self.lang),
        };
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
