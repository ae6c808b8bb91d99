//! What each 1C method does. Arguments arrive counted, with defaults applied
//! (see [`Chat::call`]); results leave as [`Ret`].

use super::args::Args;
use super::{Chat, ChatError, Ret, Session};
use crate::chat::{self, files, limits};
use crate::page;
use crate::store::{self, Page};
use crate::ticket;
use crate::watch;

fn json<T: serde::Serialize>(value: &T) -> Result<Ret, ChatError> {
    serde_json::to_string(value)
        .map(Ret::Str)
        .map_err(|e| ChatError::Internal(e.to_string()))
}

/// Refuses a Store string no store could take, before anything is opened.
fn check_location(location: &str) -> Result<(), ChatError> {
    if location.chars().count() > limits::STORE_MAX_CHARS {
        return Err(ChatError::TooLongStore);
    }
    if location.contains('\0') {
        return Err(ChatError::NulInStore);
    }
    Ok(())
}

pub fn open(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let (location, user, ticket) = (a.text(0)?, a.text(1)?, a.text(2)?);
    check_location(&location)?;
    let user = chat::validate_user(&user).map_err(ChatError::Invalid)?;
    // Reopening replaces the previous session (its watcher subscription ends first).
    c.session = None;
    let shown = store::shown(&location);
    let on_store = |error| ChatError::Store {
        error,
        location: shown.clone(),
    };
    let store::Opened {
        store,
        plan,
        identity,
        revision,
    } = store::open(&location, &user, &ticket).map_err(on_store)?;
    let subscription = match &c.sink {
        Some(sink) => Some(
            watch::subscribe(
                &location,
                store.location(),
                &plan,
                identity.viewer,
                revision,
                sink.clone(),
            )
            .map_err(on_store)?,
        ),
        None => None,
    };
    c.session = Some(Session {
        store,
        user: identity.shown,
        subscription,
    });
    Ok(Ret::None)
}

pub fn issue_ticket(_c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let (secret, user) = (a.text(0)?, a.text(1)?);
    let minutes = a.integer_in(2, 1, ticket::MINUTES_MAX)?;
    let user = chat::validate_user(&user).map_err(ChatError::Invalid)?;
    let now = chat::now_millis() / 1000;
    ticket::issue(&secret, &user, minutes, now)
        .map(Ret::Str)
        .map_err(|_| ChatError::WeakSecret)
}

pub fn provision(_c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let (admin_store, client_role, secret) = (a.text(0)?, a.text(1)?, a.text(2)?);
    check_location(&admin_store)?;
    ticket::check_secret(&secret).map_err(|_| ChatError::WeakSecret)?;
    let on_store = |error| ChatError::Store {
        error,
        location: store::shown(&admin_store),
    };
    if !store::is_postgres(&admin_store) {
        return Err(on_store(store::StoreError::CannotProvision(
            "only a PostgreSQL store can keep a secret from its users".into(),
        )));
    }
    store::provision(&admin_store, &client_role, &secret).map_err(on_store)?;
    Ok(Ret::None)
}

pub fn close(c: &mut Chat, _a: &Args) -> Result<Ret, ChatError> {
    c.close();
    Ok(Ret::None)
}

pub fn fill_chat(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let lang = c.lang.code();
    let s = c.session()?;
    let group = Some(a.integer(0, 0)?).filter(|&g| g > 0);
    // The list: the newest groups. One conversation: that group alone, one the user may
    // read, listed for them or not (the page shows no list then).
    let (groups, groups_limit) = match group {
        None => (
            s.store.groups(Some(limits::GROUPS_FIRST)),
            limits::GROUPS_FIRST,
        ),
        Some(g) => (s.store.group(g).map(|one| vec![one]), 0),
    };
    let groups: Vec<chat::Group> = groups.map_err(|e| s.err(e))?;
    let groups_json =
        serde_json::to_string(&groups).map_err(|e| ChatError::Internal(e.to_string()))?;
    Ok(Ret::Str(page::render(&page::PageState {
        user: &s.user,
        lang,
        groups_json: &groups_json,
        groups_limit,
        group,
    })))
}

/// GetGroups(Limit): the Limit most recently active groups; 0 (the default): all.
pub fn get_groups(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let limit = Some(a.integer(0, 0)?).filter(|&n| n > 0);
    let groups = s.store.groups(limit).map_err(|e| s.err(e))?;
    json(&groups)
}

pub fn get_unread(c: &mut Chat, _a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let unread = s.store.unread().map_err(|e| s.err(e))?;
    json(&unread)
}

/// A page of messages; `make` makes the page from its bound argument.
fn page_of(c: &mut Chat, a: &Args, make: fn(i64) -> Page) -> Result<Ret, ChatError> {
    // "Not open" comes before any complaint about the arguments.
    let s = c.session()?;
    let (group, bound, limit) = (a.integer(0, 1)?, a.integer(1, 0)?, a.integer(2, 1)?);
    let list = s
        .store
        .messages(group, make(bound), chat::page_size(limit))
        .map_err(|e| s.err(e))?;
    json(&list)
}

pub fn get_messages(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    page_of(c, a, Page::after)
}

pub fn get_history(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    page_of(c, a, Page::Before)
}

/// The message's answer, from an optional ReplyTo (0: none).
fn reply_to(a: &Args, i: usize) -> Result<Option<i64>, ChatError> {
    Ok(Some(a.integer(i, 0)?).filter(|&id| id > 0))
}

pub fn send_message(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let (topic, participants, text) = (a.text(0)?, a.text(1)?, a.text(2)?);
    let mut message =
        chat::new_message(&s.user, &topic, &participants, &text).map_err(ChatError::Invalid)?;
    message.reply_to = reply_to(a, 3)?;
    let sent = s.change(|store| store.send(&message, None, chat::now_millis()))?;
    Ok(Ret::Int(sent.id))
}

pub fn send_file(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let (topic, participants, name, data, text) =
        (a.text(0)?, a.text(1)?, a.text(2)?, a.blob(3)?, a.text(4)?);
    let file = files::new_file(&name, data).map_err(ChatError::Invalid)?;
    let mut message = chat::new_file_message(&s.user, &topic, &participants, &text)
        .map_err(ChatError::Invalid)?;
    message.reply_to = reply_to(a, 5)?;
    let sent = s.change(|store| store.send(&message, Some(&file), chat::now_millis()))?;
    Ok(Ret::Int(sent.id))
}

pub fn post_message(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let (group, text) = (a.integer(0, 1)?, a.text(1)?);
    let mut message = chat::post(&s.user, group, &text, false).map_err(ChatError::Invalid)?;
    message.reply_to = reply_to(a, 2)?;
    let sent = s.change(|store| store.send(&message, None, chat::now_millis()))?;
    Ok(Ret::Int(sent.id))
}

pub fn post_file(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let (group, name, data, text) = (a.integer(0, 1)?, a.text(1)?, a.blob(2)?, a.text(3)?);
    let file = files::new_file(&name, data).map_err(ChatError::Invalid)?;
    let mut message = chat::post(&s.user, group, &text, true).map_err(ChatError::Invalid)?;
    message.reply_to = reply_to(a, 4)?;
    let sent = s.change(|store| store.send(&message, Some(&file), chat::now_millis()))?;
    Ok(Ret::Int(sent.id))
}

pub fn get_file(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let id = a.integer(0, 1)?;
    let data = s.store.file(id).map_err(|e| s.err(e))?;
    Ok(Ret::Blob(data))
}

pub fn search(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let (text, group, limit) = (a.text(0)?, a.integer(1, 0)?, a.integer(2, 1)?);
    let text = chat::search_text(&text).map_err(ChatError::Invalid)?;
    let found = s
        .store
        .search(&text, group, limit.min(limits::SEARCH_MAX))
        .map_err(|e| s.err(e))?;
    json(&found)
}

pub fn open_discussion(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let (context, title) = (a.text(0)?, a.text(1)?);
    let context = chat::check_context(&context).map_err(ChatError::Invalid)?;
    let title = chat::check_title(&title).map_err(ChatError::Invalid)?;
    let group = s.store.discussion(&context, &title).map_err(|e| s.err(e))?;
    Ok(Ret::Int(group))
}

pub fn edit_message(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let (id, text) = (a.integer(0, 1)?, a.text(1)?);
    chat::check_text(&text).map_err(ChatError::Invalid)?;
    s.change(|store| store.edit(id, &text, chat::now_millis()))?;
    Ok(Ret::None)
}

pub fn delete_message(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let id = a.integer(0, 1)?;
    s.change(|store| store.delete(id))?;
    Ok(Ret::None)
}

pub fn get_updates(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let (group, after, limit) = (a.integer(0, 1)?, a.integer(1, 0)?, a.integer(2, 1)?);
    let list = s
        .store
        .updates(group, after, chat::page_size(limit))
        .map_err(|e| s.err(e))?;
    json(&list)
}

pub fn mark_read(c: &mut Chat, a: &Args) -> Result<Ret, ChatError> {
    let s = c.session()?;
    let (group, up_to) = (a.integer(0, 1)?, a.integer(1, 0)?);
    s.store.mark_read(group, up_to).map_err(|e| s.err(e))?;
    Ok(Ret::None)
}
