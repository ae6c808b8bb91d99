//! What each 1C method does. Arguments arrive decoded; results leave as [`Ret`].

use super::args::Args;
use super::{Arg, Chat, ChatError, Ret, Session};
use crate::chat::{self, limits};
use crate::page;
use crate::store;
use crate::watch;

fn args<'a>(name: &str, a: &'a [Arg]) -> Result<Args<'a>, ChatError> {
    let index = super::table::find_method(name).ok_or(ChatError::UnknownMember)?;
    Args::new(&super::table::METHODS[index], a)
}

fn json<T: serde::Serialize>(value: &T) -> Result<Ret, ChatError> {
    serde_json::to_string(value)
        .map(Ret::Str)
        .map_err(|e| ChatError::Internal(e.to_string()))
}

pub fn open(c: &mut Chat, a: &[Arg]) -> Result<Ret, ChatError> {
    let a = args("Open", a)?;
    let location = a.text(0)?;
    let user = a.text(1)?;
    if location.chars().count() > limits::STORE_MAX_CHARS {
        return Err(ChatError::TooLongStore);
    }
    if location.contains('\0') {
        return Err(ChatError::NulInStore);
    }
    let user = chat::validate_user(&user).map_err(ChatError::Invalid)?;
    // Reopening replaces the previous session (its watcher subscription ends first).
    c.session = None;
    let shown = store::shown(&location);
    let on_store = |error| ChatError::Store {
        error,
        location: shown.clone(),
    };
    let (mut store, plan) = store::open(&location).map_err(on_store)?;
    let cursor = store.latest_id().map_err(on_store)?;
    let user_key = chat::user_key(&user);
    let subscription = match &c.sink {
        Some(sink) => Some(
            watch::subscribe(
                &location,
                store.location(),
                &plan,
                &user_key,
                cursor,
                sink.clone(),
            )
            .map_err(on_store)?,
        ),
        None => None,
    };
    c.session = Some(Session {
        store,
        user,
        user_key,
        subscription,
    });
    Ok(Ret::None)
}

pub fn close(c: &mut Chat, _a: &[Arg]) -> Result<Ret, ChatError> {
    c.session = None;
    Ok(Ret::None)
}

pub fn fill_chat(c: &mut Chat, a: &[Arg]) -> Result<Ret, ChatError> {
    args("FillChat", a)?;
    let lang = c.lang.code();
    let s = c.session()?;
    let groups = s.store.groups(&s.user_key).map_err(|e| s.err(e))?;
    let groups_json =
        serde_json::to_string(&groups).map_err(|e| ChatError::Internal(e.to_string()))?;
    Ok(Ret::Str(page::render(&page::PageState {
        user: &s.user,
        lang,
        groups_json: &groups_json,
    })))
}

pub fn get_groups(c: &mut Chat, a: &[Arg]) -> Result<Ret, ChatError> {
    args("GetGroups", a)?;
    let s = c.session()?;
    let groups = s.store.groups(&s.user_key).map_err(|e| s.err(e))?;
    json(&groups)
}

pub fn get_messages(c: &mut Chat, a: &[Arg]) -> Result<Ret, ChatError> {
    let a = args("GetMessages", a)?;
    let s = c.session()?;
    let (group, after, limit) = (a.integer(0, 1)?, a.integer(1, 0)?, a.integer(2, 1)?);
    let list = s
        .store
        .messages(&s.user_key, group, after, chat::page_size(limit))
        .map_err(|e| s.err(e))?;
    json(&list)
}

pub fn get_history(c: &mut Chat, a: &[Arg]) -> Result<Ret, ChatError> {
    let a = args("GetHistory", a)?;
    let s = c.session()?;
    let (group, before, limit) = (a.integer(0, 1)?, a.integer(1, 0)?, a.integer(2, 1)?);
    let list = s
        .store
        .history(&s.user_key, group, before, chat::page_size(limit))
        .map_err(|e| s.err(e))?;
    json(&list)
}

pub fn send_message(c: &mut Chat, a: &[Arg]) -> Result<Ret, ChatError> {
    let a = args("SendMessage", a)?;
    let s = c.session()?;
    let (topic, participants, text) = (a.text(0)?, a.text(1)?, a.text(2)?);
    let message =
        chat::new_message(&s.user, &topic, &participants, &text).map_err(ChatError::Invalid)?;
    let stored = s
        .store
        .send(&message, chat::now_millis())
        .map_err(|e| s.err(e))?;
    if let Some(sub) = &s.subscription {
        sub.poke();
    }
    Ok(Ret::Int(stored.id))
}

pub fn mark_read(c: &mut Chat, a: &[Arg]) -> Result<Ret, ChatError> {
    let a = args("MarkRead", a)?;
    let s = c.session()?;
    let (group, up_to) = (a.integer(0, 1)?, a.integer(1, 0)?);
    s.store
        .mark_read(&s.user_key, group, up_to)
        .map_err(|e| s.err(e))?;
    Ok(Ret::None)
}
