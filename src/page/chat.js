/*
 * chat1c page script. ES5 on purpose: before 8.3.14 the Windows HTML field is Internet
 * Explorer, and old WebKitGTK builds on Linux reject `const` in strict mode; one newer
 * token there kills the whole page. So: var only, no arrows, template strings, classes,
 * destructuring, spread, for...of, and no built-in newer than ES5 (includes, Object.assign,
 * Promise, startsWith...) nor DOM API missing from IE11 without a guarded fallback.
 * tests/page/es5.js checks this with acorn (ecmaVersion 5) and eslint-plugin-es-x.
 * A failure that still happens shows in the banner (window.onerror in chat.html).
 * All user content goes in through textContent; links only for http(s) and 1C's navigation
 * links (e1cib/..., e1c://...), which the form opens; images only from data the form hands
 * over, under a whitelisted type.
 *
 * BRIDGE (final names; package/ BSL and tests/page use exactly these)
 *
 * Data as the add-in gives it (GetGroups; GetMessages, GetHistory, GetUpdates, Search):
 *   group   {"id":N,"topic":S,"participants":[S...],"unread":N,"mentions":N,
 *            "last":message|null,"reads":{"name":lastReadId,...}|null,"context":S|null}
 *   message {"id":N,"group":N,"period":S,"publisher":S,"text":S,"rev":N,"edited":S|null,
 *            "deleted":bool,"reply_to":N|null,"mentions":[S...],
 *            "files":[{"id":N,"name":S,"size":N,"type":S}...]}
 * "rev" is the store-wide revision of a message's last change; a deleted message stays as a
 * tombstone (text "", deleted true). "mentions" (group) counts unread messages that mention
 * the user; "reads" (private groups) is every member's read mark, shown as ticks on own
 * messages ("seen by ..." when a member's mark reaches the message). "context" marks the
 * discussion of an object (OpenDiscussion; its navigation link): shown as "Discussion", its
 * header links to the object. "files": images (png, jpeg, gif, webp, bmp) up to 2 MB are shown
 * inline, other files and larger images as a card with name and size.
 *
 * The page state (FillChat): window.CHAT1C_STATE = {"user", "lang", "groups", "groupsLimit",
 * "group"}; "groupsLimit" as in chatSetGroups.
 * "group" N (FillChat(Group)): that conversation only, no list, opened at once (its "open"
 * is queued at the first paint); text goes to it by id ("post"); a conversation GetGroups
 * does not list (a discussion the user has not written in) is shown all the same.
 *
 * 1C -> page: functions on window (Элементы[<the field>].Документ.defaultView.<name>(...)).
 * Each accepts JSON as a string (or an already parsed value) and returns true, or
 * false after showing an error when the input is unusable.
 *   chatSetGroups(groupsJson, limit) replace the groups list (GetGroups JSON array): badges for
 *                                    unread messages and mentions, read ticks from "reads".
 *                                    limit: the Limit it was asked with (GetGroups(limit));
 *                                    0 or omitted: the whole list. A list as long as its limit
 *                                    ends with "more conversations" (the "groups" action), and
 *                                    the open conversation stays even when the list no longer
 *                                    holds it
 *   chatAddMessages(messagesJson)    merge messages (any groups, any order; GetUpdates, GetMessages,
 *                                    the answer to "quote"). By id: a message held already is
 *                                    replaced only by one with a higher "rev" (edits and
 *                                    tombstones arrive so); a lower or equal rev changes nothing.
 *                                    New ones end up at the bottom of their conversation. A
 *                                    conversation the page has not loaded yet (no answer to its
 *                                    "open") keeps none: opening it asks for the newest page.
 *                                    A message older than the history held, or newer than a
 *                                    window away from the newest (see "around"), is only
 *                                    remembered (for quotes), so the history never gets a gap.
 *   chatPrependMessages(groupId, messagesJson, hasMore, seq)
 *                                    older page for a group (answer to "older", and to "open"
 *                                    with after = 0): the conversation is loaded from then on;
 *                                    hasMore = false hides "load older". seq: the request's
 *                                    (below); an answer to a request the page no longer waits
 *                                    for (the conversation was let go for a window) is ignored.
 *   chatShowAround(groupId, olderJson, newerJson, hasOlder, hasNewer, seq)
 *                                    answer to "around": the conversation now holds this window
 *                                    (older: up to and with the message; newer: after it), is
 *                                    scrolled to the message, which blinks. hasNewer: the window
 *                                    does not reach the newest message, so the jump button leads
 *                                    back there and nothing is marked read meanwhile.
 *   chatAppendMessages(groupId, messagesJson, hasMore, seq)
 *                                    answer to "newer": the page after the window, added below
 *                                    without moving the view; hasMore = false: the window now
 *                                    reaches the newest message
 *   chatSearchResults(seq, messagesJson)
 *                                    answer to "search" (Search's array, newest first): shown
 *                                    under the conversations with the sender, the conversation
 *                                    and every match marked; an answer to an older search is
 *                                    dropped
 *   chatSetFileData(fileId, base64, type)
 *                                    answer to "image": the file's bytes (Base64Строка; its line
 *                                    breaks are fine), or "" when it cannot be had (shown as a card)
 *   chatTakeFile(seq)                -> the base64 of a file the page read (a "file" action's
 *                                    seq); "" once taken or unknown. Files do not travel in
 *                                    chatTakeActions, so the queue stays small.
 *   chatSetTitle(title)              the title of the one conversation (FillChat(Group)), e.g.
 *                                    the object's presentation, until a list renames it
 *   chatSetObject(link, title)       the form's object (its navigation link, e1cib/... or
 *                                    e1c://...; anything else hides it): the composer offers
 *                                    "insert a link" to it, which puts «title» link at the caret
 *   chatMarkRead(groupId, upTo)      the read mark moved (e.g. from another window)
 *   chatSetUser(user, lang)          user name and UI language ("ru" or "en")
 *   chatShowError(text, failedSeq)   show an error banner; when the failed call was a "send",
 *                                    "new", "post", "file", "edit" or "delete" action, failedSeq
 *                                    is its seq and only that one is marked ("not sent" / "not
 *                                    saved"; a delete is simply no longer pending); a failed read
 *                                    after a good call marks nothing. The seq of a failed "open",
 *                                    "older", "around", "newer" or "search" ends the waiting for
 *                                    it (a failed "around" opens the conversation at its newest)
 *   chatSetPeople(peopleJson)        the infobase users offered in "new conversation" and for
 *                                    @mentions in public topics: [{"name":S,"title":S}...]
 *                                    (name = what SendMessage takes and "@" mentions)
 *   chatOpenGroup(groupId)           open a conversation as if the user clicked it (in the one-
 *                                    conversation mode only that one)
 *   chatTakeActions()                -> JSON array string of queued actions; clears the queue
 *
 * Page -> 1C: the page queues actions and then clicks the hidden element with
 * id "chat1c-notify" (asynchronously, never inside a 1C -> page call), so the field's
 * ПриНажатии fires with ДанныеСобытия.Element.id = "chat1c-notify". The form then calls
 * chatTakeActions() once and handles every action in order. Actions queued before 1C
 * reads stay queued: none is lost, and a click with an empty queue is harmless.
 * The form keeps per group a revision cursor: the highest "rev" it has handed over from
 * GetUpdates (or from the first page of a conversation). "Pull the group" below means:
 * GetUpdates(group, cursor, L) -> chatAddMessages, page after page until one is short.
 * A request whose answer comes back to the page carries "seq", and the form passes it back
 * with the answer (and to chatShowError when the request fails).
 *   {"action":"open",  "group":N, "after":N, "seq":N}
 *        after = the newest id the page holds (0: none, the conversation is not loaded) ->
 *        after = 0: chatPrependMessages(N, GetMessages(N, 0, L), count = L, seq); the revision
 *                   cursor moves to that page's newest change (the page holds nothing else)
 *        else:      pull the group (whatever came after `after`, and edits of what is held);
 *                   no seq then
 *   {"action":"older", "group":N, "before":N, "seq":N}
 *        -> chatPrependMessages(N, GetHistory(N, before, L), count = L, seq); the cursor stays.
 *        Also asked page after page when the user clicks a quote whose original is older
 *        than the history held, until the original is held or the history ends
 *   {"action":"around","group":N, "id":N, "seq":N}
 *        a search result not held: the page let the conversation's history go ->
 *        chatShowAround(N, GetHistory(N, id + 1, L), GetMessages(N, id, L), count = L,
 *        count = L, seq); the cursor moves to the window's newest change, as for "open"
 *   {"action":"newer", "group":N, "after":N, "seq":N}
 *        scrolled to the bottom of a window -> chatAppendMessages(N, GetMessages(N, after, L),
 *        count = L, seq); the cursor stays, as for "older"
 *   {"action":"quote", "group":N, "id":N}
 *        -> chatAddMessages(GetHistory(group, id + 1, 1)): the original of a reply, older than
 *           the history held, to show in the quote; asked once per id
 *   {"action":"search","seq":N, "text":S, "group":0}
 *        -> chatSearchResults(seq, Search(text, group, 50)); asked from 3 characters typed in
 *           the search box, after a pause (or at once on Enter)
 *   {"action":"send",  "seq":N, "group":N, "topic":S, "participants":S, "text":S, "replyTo":N}
 *        -> SendMessage(topic, participants, text, replyTo); replyTo = 0: not a reply, else the
 *           id of the message answered (same group). participants is already in SendMessage's
 *           format ("" for a public topic, else a JSON array string). The sending object
 *           gets no event for its own message: the form pulls right after the send.
 *           If SendMessage itself fails: chatShowError(text, seq).
 *   {"action":"post",  "seq":N, "group":N, "text":S, "replyTo":N}
 *        -> PostMessage(group, text, replyTo), then pull the group; as "send", for a discussion
 *           (no participants to name it by) and for the one conversation of FillChat(Group)
 *   {"action":"new",   "seq":N, "topic":S, "participants":S, "text":S, "replyTo":0}
 *        -> SendMessage(topic, participants, text, replyTo), then chatSetGroups(GetGroups())
 *           and the new group's messages; the page opens the new group itself when it appears.
 *   {"action":"edit",  "seq":N, "group":N, "id":N, "text":S}
 *        -> EditMessage(id, text) (own messages only), then pull the group. The page shows the
 *           new text as "saving..." until the edit's revision arrives. If EditMessage fails:
 *           chatShowError(text, seq) ("not saved"; a click puts the text back to edit).
 *   {"action":"delete","seq":N, "group":N, "id":N}
 *        -> DeleteMessage(id) (own messages only), then pull the group: the tombstone replaces
 *           the message ("message deleted"). If DeleteMessage fails: chatShowError(text, seq).
 *   {"action":"file",  "seq":N, "group":N, "name":S, "size":N}
 *        a file dropped on the conversation or pasted into the input, read by the page
 *        (FileReader) and shown as "sending..." -> PostFile(group, name,
 *        Base64Значение(chatTakeFile(seq)), "", 0), then pull the group; if that fails:
 *        chatShowError(text, seq) ("not sent"; a click takes it away). A file over 25 MB is
 *        refused by the page at once. A pasted image the engine calls "image.png" is named
 *        screenshot-<yyyymmdd>-<hhmmss>.png.
 *   {"action":"attach","group":N}
 *        the attach button, or a drop where the engine gives no file data (no FileReader:
 *        Internet Explorer before 8.3.14) -> 1C's own file dialog (ДиалогВыбораФайла.Показать,
 *        several files); each chosen file -> PostFile(group, its name, its data), then pull
 *   {"action":"image", "id":N, "type":S}
 *        an inline image's data, asked once per file -> chatSetFileData(id, Base64Строка(GetFile(id)),
 *        type), or chatSetFileData(id, "") when GetFile fails (the message was deleted)
 *   {"action":"save",  "id":N, "name":S}
 *        a click on a file -> 1C's save dialog (ДиалогВыбораФайла in save mode, name offered),
 *        then GetFile(id) written where the user chose
 *   {"action":"people"} -> chatSetPeople(the infobase users); asked once, when "new
 *           conversation" is first shown or "@" is first typed in a public topic
 *   {"action":"groups","limit":N} -> chatSetGroups(GetGroups(N), N), and N is the limit of
 *        every later GetGroups for this page: "more conversations" was clicked (N grows by
 *        50), or the list is filtered while it is not whole (N = 0: all), or that filter is
 *        cleared (N: the limit before it; asked once, N may be smaller than the last)
 *   {"action":"read",  "group":N, "upTo":N}  -> MarkRead(group, upTo)
 *   {"action":"link",  "url":S}   http(s)://..., e1cib/... or e1c://... only (a link in a
 *        message, a discussion's header) -> ПерейтиПоНавигационнойСсылке(url); the form checks
 *        the prefix again and opens nothing else
 * On any other failure the form calls chatShowError(ОписаниеОшибки()) without a seq.
 * Events: on ВнешнееСобытие "NewMessages" the form calls chatSetGroups(GetGroups(limit), limit)
 * (limit: FillChat's 50, or the last "groups" action's) and pulls
 * every group of the hint that it lists or has loaded (discussions are public: every chat
 * hears of them).
 */
(function () {
  'use strict';

  var STRINGS = {
    en: {
      title: 'Chat', you: 'You', newConversation: 'New conversation', search: 'Search chats and messages',
      noGroups: 'No conversations yet', noMatch: 'Nothing found', moreGroups: 'More conversations',
      selectConv: 'Select a conversation or start a new one', loadOlder: 'Load older messages',
      loading: 'Loading\u2026', noMessages: 'No messages yet. Say hello!',
      typeMessage: 'Write a message\u2026', send: 'Send (Enter)', back: 'Back', topic: 'Topic',
      participants: 'Participants',
      participantsHint: 'Names separated by \u201c;\u201d. Leave empty for a public topic.',
      firstMessage: 'Message', create: 'Start', cancel: 'Cancel', everyone: 'Everyone',
      today: 'Today', yesterday: 'Yesterday', sending: 'sending\u2026', notSent: 'not sent',
      close: 'Close', creating: 'Creating\u2026', retry: 'Not sent. Click to edit and send again.', needTopic: 'Enter a topic.',
      needText: 'Enter a message.', badInput: 'The chat got data it cannot show',
      choosePeople: 'Choose from the users of the infobase or type names',
      actions: 'Actions', reply: 'Reply', edit: 'Edit', del: 'Delete', delConfirm: 'Delete for everyone?',
      editing: 'Editing a message \u00b7 Enter saves, Esc cancels', replyTo: 'Reply to',
      deleted: 'Message deleted', edited: 'edited', saving: 'saving\u2026', notSaved: 'not saved',
      deleting: 'deleting\u2026', retryEdit: 'Not saved. Click to edit it again.',
      earlier: 'Reply to an earlier message', noOriginal: 'The message answered is no longer in the history',
      seenBy: 'Seen by', notSeen: 'Not seen yet', mentionsOfYou: 'Mentions of you',
      searchHint: 'Conversations by title; messages from 3 characters (Enter searches at once)',
      messagesFound: 'Messages', searching: 'Searching\u2026', noMessagesFound: 'No messages found',
      searchFailed: 'The search failed', discussion: 'Discussion', openObject: 'Open the object',
      attach: 'Attach files', insertLink: 'Insert a link to', dropHere: 'Drop files here to send them',
      tooBig: 'Files up to 25 MB can be sent; this one is larger:', fileLabel: 'File', saveFile: 'Click to save',
      retryFile: 'Not sent. Click to dismiss.', toNewest: 'To the newest messages', units: ['B', 'KB', 'MB', 'GB'],
      decimal: '.',
      months: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
        'September', 'October', 'November', 'December'],
      monthsShort: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
      dayFirst: false
    },
    ru: {
      title: '\u0427\u0430\u0442', you: '\u0412\u044b', newConversation: '\u041d\u043e\u0432\u044b\u0439 \u0440\u0430\u0437\u0433\u043e\u0432\u043e\u0440',
      search: '\u041f\u043e\u0438\u0441\u043a \u043f\u043e \u0431\u0435\u0441\u0435\u0434\u0430\u043c \u0438 \u0441\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u044f\u043c', noGroups: '\u0420\u0430\u0437\u0433\u043e\u0432\u043e\u0440\u043e\u0432 \u043f\u043e\u043a\u0430 \u043d\u0435\u0442',
      noMatch: '\u041d\u0438\u0447\u0435\u0433\u043e \u043d\u0435 \u043d\u0430\u0439\u0434\u0435\u043d\u043e',
      moreGroups: '\u0415\u0449\u0451 \u0440\u0430\u0437\u0433\u043e\u0432\u043e\u0440\u044b',
      selectConv: '\u0412\u044b\u0431\u0435\u0440\u0438\u0442\u0435 \u0440\u0430\u0437\u0433\u043e\u0432\u043e\u0440 \u0438\u043b\u0438 \u043d\u0430\u0447\u043d\u0438\u0442\u0435 \u043d\u043e\u0432\u044b\u0439',
      loadOlder: '\u041f\u043e\u043a\u0430\u0437\u0430\u0442\u044c \u0431\u043e\u043b\u0435\u0435 \u0440\u0430\u043d\u043d\u0438\u0435',
      loading: '\u0417\u0430\u0433\u0440\u0443\u0437\u043a\u0430\u2026',
      noMessages: '\u0421\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0439 \u043f\u043e\u043a\u0430 \u043d\u0435\u0442. \u041d\u0430\u043f\u0438\u0448\u0438\u0442\u0435 \u043f\u0435\u0440\u0432\u044b\u043c!',
      typeMessage: '\u041d\u0430\u043f\u0438\u0448\u0438\u0442\u0435 \u0441\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0435\u2026',
      send: '\u041e\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u044c (Enter)', back: '\u041d\u0430\u0437\u0430\u0434',
      topic: '\u0422\u0435\u043c\u0430', participants: '\u0423\u0447\u0430\u0441\u0442\u043d\u0438\u043a\u0438',
      participantsHint: '\u0418\u043c\u0435\u043d\u0430 \u0447\u0435\u0440\u0435\u0437 \u00ab;\u00bb. \u041f\u0443\u0441\u0442\u043e \u2014 \u043e\u0442\u043a\u0440\u044b\u0442\u0430\u044f \u0442\u0435\u043c\u0430 \u0434\u043b\u044f \u0432\u0441\u0435\u0445.',
      firstMessage: '\u0421\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0435', create: '\u041d\u0430\u0447\u0430\u0442\u044c',
      cancel: '\u041e\u0442\u043c\u0435\u043d\u0430', everyone: '\u0412\u0441\u0435',
      today: '\u0421\u0435\u0433\u043e\u0434\u043d\u044f', yesterday: '\u0412\u0447\u0435\u0440\u0430',
      sending: '\u043e\u0442\u043f\u0440\u0430\u0432\u043a\u0430\u2026', notSent: '\u043d\u0435 \u043e\u0442\u043f\u0440\u0430\u0432\u043b\u0435\u043d\u043e',
      retry: '\u041d\u0435 \u043e\u0442\u043f\u0440\u0430\u0432\u043b\u0435\u043d\u043e. \u041d\u0430\u0436\u043c\u0438\u0442\u0435, \u0447\u0442\u043e\u0431\u044b \u0438\u0441\u043f\u0440\u0430\u0432\u0438\u0442\u044c \u0438 \u043e\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u044c \u0441\u043d\u043e\u0432\u0430.',
      close: '\u0417\u0430\u043a\u0440\u044b\u0442\u044c', creating: '\u0421\u043e\u0437\u0434\u0430\u043d\u0438\u0435\u2026',
      needTopic: '\u0423\u043a\u0430\u0436\u0438\u0442\u0435 \u0442\u0435\u043c\u0443.',
      needText: '\u041d\u0430\u043f\u0438\u0448\u0438\u0442\u0435 \u0441\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0435.',
      badInput: '\u0427\u0430\u0442 \u043f\u043e\u043b\u0443\u0447\u0438\u043b \u0434\u0430\u043d\u043d\u044b\u0435, \u043a\u043e\u0442\u043e\u0440\u044b\u0435 \u043d\u0435 \u043c\u043e\u0436\u0435\u0442 \u043f\u043e\u043a\u0430\u0437\u0430\u0442\u044c',
      choosePeople: '\u0412\u044b\u0431\u0435\u0440\u0438\u0442\u0435 \u0438\u0437 \u043f\u043e\u043b\u044c\u0437\u043e\u0432\u0430\u0442\u0435\u043b\u0435\u0439 \u0431\u0430\u0437\u044b \u0438\u043b\u0438 \u0432\u0432\u0435\u0434\u0438\u0442\u0435 \u0438\u043c\u0435\u043d\u0430',
      actions: '\u0414\u0435\u0439\u0441\u0442\u0432\u0438\u044f', reply: '\u041e\u0442\u0432\u0435\u0442\u0438\u0442\u044c', edit: '\u0418\u0437\u043c\u0435\u043d\u0438\u0442\u044c', del: '\u0423\u0434\u0430\u043b\u0438\u0442\u044c', delConfirm: '\u0423\u0434\u0430\u043b\u0438\u0442\u044c \u0443 \u0432\u0441\u0435\u0445?',
      editing: '\u0418\u0437\u043c\u0435\u043d\u0435\u043d\u0438\u0435 \u0441\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u044f \u00b7 Enter \u2014 \u0441\u043e\u0445\u0440\u0430\u043d\u0438\u0442\u044c, Esc \u2014 \u043e\u0442\u043c\u0435\u043d\u0430', replyTo: '\u0412 \u043e\u0442\u0432\u0435\u0442:',
      deleted: '\u0421\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0435 \u0443\u0434\u0430\u043b\u0435\u043d\u043e', edited: '\u0438\u0437\u043c\u0435\u043d\u0435\u043d\u043e', saving: '\u0441\u043e\u0445\u0440\u0430\u043d\u0435\u043d\u0438\u0435\u2026', notSaved: '\u043d\u0435 \u0441\u043e\u0445\u0440\u0430\u043d\u0435\u043d\u043e',
      deleting: '\u0443\u0434\u0430\u043b\u0435\u043d\u0438\u0435\u2026', retryEdit: '\u041d\u0435 \u0441\u043e\u0445\u0440\u0430\u043d\u0435\u043d\u043e. \u041d\u0430\u0436\u043c\u0438\u0442\u0435, \u0447\u0442\u043e\u0431\u044b \u0438\u0437\u043c\u0435\u043d\u0438\u0442\u044c \u0441\u043d\u043e\u0432\u0430.',
      earlier: '\u041e\u0442\u0432\u0435\u0442 \u043d\u0430 \u0431\u043e\u043b\u0435\u0435 \u0440\u0430\u043d\u043d\u0435\u0435 \u0441\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0435', noOriginal: '\u0421\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u044f, \u043d\u0430 \u043a\u043e\u0442\u043e\u0440\u043e\u0435 \u043e\u0442\u0432\u0435\u0442\u0438\u043b\u0438, \u0432 \u0438\u0441\u0442\u043e\u0440\u0438\u0438 \u0443\u0436\u0435 \u043d\u0435\u0442',
      seenBy: '\u041f\u0440\u043e\u0447\u0438\u0442\u0430\u043b\u0438:', notSeen: '\u0415\u0449\u0435 \u043d\u0435 \u043f\u0440\u043e\u0447\u0438\u0442\u0430\u043d\u043e', mentionsOfYou: '\u0423\u043f\u043e\u043c\u0438\u043d\u0430\u043d\u0438\u044f \u0432\u0430\u0441',
      searchHint: '\u0411\u0435\u0441\u0435\u0434\u044b \u043f\u043e \u043d\u0430\u0437\u0432\u0430\u043d\u0438\u044e; \u0441\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u044f \u2014 \u043e\u0442 3 \u0441\u0438\u043c\u0432\u043e\u043b\u043e\u0432 (Enter \u2014 \u0438\u0441\u043a\u0430\u0442\u044c \u0441\u0440\u0430\u0437\u0443)',
      messagesFound: '\u0421\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u044f',
      searching: '\u041f\u043e\u0438\u0441\u043a\u2026',
      noMessagesFound: '\u0421\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u044f \u043d\u0435 \u043d\u0430\u0439\u0434\u0435\u043d\u044b',
      searchFailed: '\u041f\u043e\u0438\u0441\u043a \u043d\u0435 \u0443\u0434\u0430\u043b\u0441\u044f',
      discussion: '\u041e\u0431\u0441\u0443\u0436\u0434\u0435\u043d\u0438\u0435',
      openObject: '\u041e\u0442\u043a\u0440\u044b\u0442\u044c \u043e\u0431\u044a\u0435\u043a\u0442',
      attach: '\u041f\u0440\u0438\u043a\u0440\u0435\u043f\u0438\u0442\u044c \u0444\u0430\u0439\u043b\u044b',
      insertLink: '\u0412\u0441\u0442\u0430\u0432\u0438\u0442\u044c \u0441\u0441\u044b\u043b\u043a\u0443 \u043d\u0430',
      dropHere: '\u041e\u0442\u043f\u0443\u0441\u0442\u0438\u0442\u0435 \u0444\u0430\u0439\u043b\u044b, \u0447\u0442\u043e\u0431\u044b \u043e\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u044c \u0438\u0445',
      tooBig: '\u041e\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u044c \u043c\u043e\u0436\u043d\u043e \u0444\u0430\u0439\u043b \u0434\u043e 25 \u041c\u0411, \u044d\u0442\u043e\u0442 \u0431\u043e\u043b\u044c\u0448\u0435:',
      fileLabel: '\u0424\u0430\u0439\u043b',
      saveFile: '\u041d\u0430\u0436\u043c\u0438\u0442\u0435, \u0447\u0442\u043e\u0431\u044b \u0441\u043e\u0445\u0440\u0430\u043d\u0438\u0442\u044c',
      retryFile: '\u041d\u0435 \u043e\u0442\u043f\u0440\u0430\u0432\u043b\u0435\u043d\u043e. \u041d\u0430\u0436\u043c\u0438\u0442\u0435, \u0447\u0442\u043e\u0431\u044b \u0443\u0431\u0440\u0430\u0442\u044c.',
      toNewest: '\u041a \u043f\u043e\u0441\u043b\u0435\u0434\u043d\u0438\u043c \u0441\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u044f\u043c',
      units: ['\u0411', '\u041a\u0411', '\u041c\u0411', '\u0413\u0411'], decimal: ',',
      months: ['\u044f\u043d\u0432\u0430\u0440\u044f', '\u0444\u0435\u0432\u0440\u0430\u043b\u044f', '\u043c\u0430\u0440\u0442\u0430',
        '\u0430\u043f\u0440\u0435\u043b\u044f', '\u043c\u0430\u044f', '\u0438\u044e\u043d\u044f', '\u0438\u044e\u043b\u044f',
        '\u0430\u0432\u0433\u0443\u0441\u0442\u0430', '\u0441\u0435\u043d\u0442\u044f\u0431\u0440\u044f',
        '\u043e\u043a\u0442\u044f\u0431\u0440\u044f', '\u043d\u043e\u044f\u0431\u0440\u044f', '\u0434\u0435\u043a\u0430\u0431\u0440\u044f'],
      monthsShort: ['\u044f\u043d\u0432', '\u0444\u0435\u0432', '\u043c\u0430\u0440', '\u0430\u043f\u0440', '\u043c\u0430\u044f',
        '\u0438\u044e\u043d', '\u0438\u044e\u043b', '\u0430\u0432\u0433', '\u0441\u0435\u043d', '\u043e\u043a\u0442',
        '\u043d\u043e\u044f', '\u0434\u0435\u043a'],
      dayFirst: true
    }
  };

  // A run of messages from one author within this gap shares one header.
  var RUN_GAP_MS = 5 * 60 * 1000;
  // Distance from the bottom that still counts as "reading the newest".
  var BOTTOM_SLACK_PX = 48;
  // Messages put in the DOM at a time: a long history is revealed in chunks as the
  // reader scrolls up, so opening a 1,000-message group stays fast in an old WebKit.
  var WINDOW = 150;
  // Characters of a text shown in a quote or above the input.
  var SNIPPET = 120;
  // Names offered at a time for an @mention.
  var SUGGESTED = 8;
  // Messages are searched from this many characters on (the add-in refuses shorter texts),
  // after this pause in typing (Enter searches at once).
  var SEARCH_MIN = 3;
  var SEARCH_DELAY_MS = 350;
  // Characters of a found message shown around the first match.
  var RESULT_BEFORE = 40;
  var RESULT_LEN = 160;
  // Images shown inline: these types up to 2 MB; anything else is a card with name and size.
  var INLINE_TYPES = { 'image/png': 1, 'image/jpeg': 1, 'image/gif': 1, 'image/webp': 1, 'image/bmp': 1 };
  var INLINE_MAX = 2 * 1024 * 1024;
  // The add-in's limit for one file (SendFile / PostFile): 25 MiB.
  var FILE_MAX = 26214400;
  // What may be opened from a message: web links and 1C's navigation links, nothing else.
  var OPENABLE = /^(https?:\/\/|e1cib\/|e1c:\/\/)/i;

  // The list grows by this many conversations at a time ("more conversations").
  var GROUPS_MORE = 50;

  var S = {
    user: '', lang: 'en', groups: [], byId: {}, convs: {}, current: null,
    // The Limit the list was asked with (0: whole) and the larger one asked for since;
    // groupsShort: the limit before a filter asked for the whole list, asked again when the
    // filter is cleared (0: none to go back to).
    groupsLimit: 0, groupsAsked: 0, groupsShort: 0,
    mode: 'none', filter: '', queue: [], notifyTimer: 0, readSent: {}, drafts: {},
    pending: [], pendingSeq: 0, pendingNew: null, newBelow: 0, errorTimer: 0,
    // Infobase users for "new conversation": null until 1C answers the "people" action.
    people: null, peopleAsked: false,
    // Every message seen (held or not), newest revision per id: the originals of quotes.
    known: {}, quoteAsked: {},
    // The composer edits {id, group, draft} or answers {id, group} a message; never both.
    editing: null, reply: null,
    // Edits and deletes sent, by message id, until their revision arrives:
    // edits[id] = {seq, text, baseRev, failed}, deleting[id] = {seq}.
    edits: {}, deleting: {},
    // The message menu {id, armed}; own message ids whose "seen by" line is open (tap);
    // the @mention suggestions {start, end, items, index}.
    menu: null, seen: {}, suggest: null,
    // The message search of the search box: {text, seq, pending, failed, results}, null
    // while the box holds fewer than SEARCH_MIN characters.
    search: null, searchTimer: 0,
    // FillChat(Group): the one conversation shown (no list), and its title while GetGroups
    // does not list it (a discussion the user has not written in); null: the whole chat.
    single: null, singleTitle: '',
    // Conversations the page shows that GetGroups does not list (a discussion found by the
    // search, the single one), by id.
    extra: {},
    // Files: inline images' data URLs by file id (false: not to be had, shown as a card), the
    // ids asked for once; files read from a drop or paste until the form takes them, by seq.
    fileData: {}, fileAsked: {}, outbox: {},
    // The object of the form the chat is on (chatSetObject): {link, title}, for "insert a link".
    object: null
  };

  function $(id) { return document.getElementById(id); }
  var root = $('chat1c-root');
  var el = {
    meAvatar: $('me-avatar'), meName: $('me-name'), newBtn: $('new-btn'), filter: $('filter'),
    groups: $('groups'), groupsEmpty: $('groups-empty'), convAvatar: $('conv-avatar'),
    convTopic: $('conv-topic'), convPeople: $('conv-people'), messages: $('messages'),
    olderBtn: $('older-btn'), status: $('conv-status'), list: $('msg-list'), pendingList: $('pending-list'),
    jump: $('jump-btn'), jumpCount: $('jump-count'), composer: $('composer'), input: $('input'),
    newForm: $('new-form'), newTopic: $('new-topic'), newPeople: $('new-people'), newText: $('new-text'),
    newHint: $('new-hint'), peopleList: $('new-people-list'), error: $('error'), errorText: $('error-text'), notify: $('chat1c-notify'),
    ctx: $('compose-ctx'), ctxTitle: $('ctx-title'), ctxText: $('ctx-text'), menu: $('msg-menu'),
    menuEdit: $('menu-edit'), menuDelete: $('menu-delete'), suggest: $('mention-list'),
    results: $('results'), resultList: $('result-list'), resultsStatus: $('results-status'), conv: $('conv'),
    convLink: $('conv-link'), attach: $('attach-btn'), linkBtn: $('link-btn')
  };

  function t(key) {
    var table = STRINGS[S.lang] || STRINGS.en;
    return table[key] === undefined ? STRINGS.en[key] : table[key];
  }

  function normLang(lang) {
    return String(lang || '').toLowerCase().indexOf('ru') === 0 ? 'ru' : 'en';
  }

  function sameUser(a, b) {
    return String(a).toLowerCase() === String(b).toLowerCase();
  }

  function node(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  // ---- data shapes (input from 1C is checked, never trusted) ----

  function isId(v) { return typeof v === 'number' && isFinite(v); }

  function count(v) { return isId(v) && v > 0 ? v : 0; }

  function normMsg(m) {
    if (!m || typeof m !== 'object' || !isId(m.id) || !isId(m.group)) return null;
    var deleted = m.deleted === true;
    return {
      id: m.id, group: m.group, period: String(m.period || ''),
      publisher: String(m.publisher === undefined || m.publisher === null ? '' : m.publisher),
      text: deleted || m.text === undefined || m.text === null ? '' : String(m.text),
      time: parsePeriod(m.period),
      rev: count(m.rev), edited: typeof m.edited === 'string' && m.edited.length > 0, deleted: deleted,
      replyTo: count(m.reply_to), mentions: Array.isArray(m.mentions) ? m.mentions.map(String) : [],
      files: deleted ? [] : normFiles(m.files)
    };
  }

  // A message's files: [{id, name, size, type}]; anything malformed is left out.
  function normFiles(list) {
    if (!Array.isArray(list)) return [];
    var out = [];
    list.forEach(function (f) {
      if (!f || typeof f !== 'object' || !isId(f.id)) return;
      out.push({
        id: f.id, name: String(f.name === undefined || f.name === null ? '' : f.name), size: count(f.size),
        type: String(f.type || '').toLowerCase()
      });
    });
    return out;
  }

  function normGroup(g) {
    if (!g || typeof g !== 'object' || !isId(g.id)) return null;
    var parts = Array.isArray(g.participants) ? g.participants.map(String) : [];
    // Private groups: every member's read mark, as [{name, upTo}].
    var reads = null;
    if (g.reads && typeof g.reads === 'object' && !Array.isArray(g.reads)) {
      reads = [];
      Object.keys(g.reads).forEach(function (name) {
        if (isId(g.reads[name])) reads.push({ name: name, upTo: g.reads[name] });
      });
    }
    return {
      id: g.id, topic: String(g.topic === undefined || g.topic === null ? '' : g.topic),
      participants: parts, unread: count(g.unread), mentions: count(g.mentions),
      last: normMsg(g.last), reads: reads, readsKey: JSON.stringify(reads),
      context: typeof g.context === 'string' && g.context.length ? g.context : null
    };
  }

  function mentionsMe(m) {
    return m.mentions.some(function (n) { return sameUser(n, S.user); });
  }

  function who(m) {
    return sameUser(m.publisher, S.user) ? t('you') : m.publisher;
  }

  function snippet(text) {
    var s = String(text).replace(/\s+/g, ' ');
    return s.length > SNIPPET ? s.slice(0, SNIPPET) + '\u2026' : s;
  }

  // What a message says in one line: its text, its files, or that it was deleted.
  function gist(m) {
    return m.deleted ? t('deleted') : snippet(m.text || filesLine(m));
  }

  function filesLine(m) {
    var names = (m.files || []).map(function (f) { return f.name; });
    return names.length ? t('fileLabel') + ': ' + names.join(', ') : '';
  }

  function parseJson(v) {
    return typeof v === 'string' ? JSON.parse(v) : v;
  }

  function asArray(v) {
    var a = parseJson(v);
    if (!Array.isArray(a)) throw new Error('not an array');
    return a;
  }

  // "YYYY-MM-DDTHH:MM:SS.mmmZ" -> ms; parsed by hand so old engines agree.
  function parsePeriod(p) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z?$/.exec(String(p || ''));
    if (!m) return NaN;
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], m[7] ? +(m[7] + '00').slice(0, 3) : 0);
  }

  function pad2(n) { return n < 10 ? '0' + n : String(n); }

  function dayKey(ms) {
    if (!isFinite(ms)) return '';
    var d = new Date(ms);
    return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate());
  }

  function clock(ms) {
    if (!isFinite(ms)) return '';
    var d = new Date(ms);
    return pad2(d.getHours()) + ':' + pad2(d.getMinutes());
  }

  function dayLabel(ms) {
    if (!isFinite(ms)) return '';
    var now = new Date();
    var today = dayKey(now.getTime());
    var key = dayKey(ms);
    if (key === today) return t('today');
    var y = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
    if (key === dayKey(y.getTime())) return t('yesterday');
    var d = new Date(ms);
    var label = t('dayFirst') ?
      d.getDate() + ' ' + t('months')[d.getMonth()] :
      t('months')[d.getMonth()] + ' ' + d.getDate();
    return d.getFullYear() === now.getFullYear() ? label : label + ' ' + d.getFullYear();
  }

  function shortWhen(ms) {
    if (!isFinite(ms)) return '';
    var now = new Date();
    if (dayKey(ms) === dayKey(now.getTime())) return clock(ms);
    var d = new Date(ms);
    if (d.getFullYear() === now.getFullYear()) {
      return t('dayFirst') ? d.getDate() + ' ' + t('monthsShort')[d.getMonth()] :
        t('monthsShort')[d.getMonth()] + ' ' + d.getDate();
    }
    return pad2(d.getDate()) + '.' + pad2(d.getMonth() + 1) + '.' + d.getFullYear();
  }

  function initials(name) {
    var words = String(name).replace(/[^0-9A-Za-z\u00C0-\u024F\u0400-\u04FF\s]/g, ' ').split(/\s+/)
      .filter(function (w) { return w.length > 0; });
    if (!words.length) return '#';
    var a = words[0].charAt(0);
    var b = words.length > 1 ? words[1].charAt(0) : '';
    return (a + b).toUpperCase();
  }

  function hue(name) {
    var s = String(name).toLowerCase();
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) % 360;
    return h;
  }

  function paintAvatar(n, name) {
    n.textContent = initials(name);
    n.style.backgroundColor = 'hsl(' + hue(name) + ',45%,55%)';
  }

  function groupTitle(g) {
    if (g.topic) return g.topic;
    if (isDiscussion(g)) return t('discussion');
    return g.participants.length ? g.participants.join(', ') : t('everyone');
  }

  function peopleLine(g) {
    if (isDiscussion(g)) return t('discussion');
    return g.participants.length ? g.participants.join(', ') : t('everyone');
  }

  // A discussion of an object (OpenDiscussion: a context), or a conversation GetGroups does
  // not list (only a discussion can be seen without being listed).
  function isDiscussion(g) {
    return g.context !== null || g.transient === true;
  }

  // Text goes into such a conversation by its id (PostMessage): a discussion has no
  // participants to name it by, and the single conversation may be one.
  function postsById(g) {
    return S.single !== null || isDiscussion(g);
  }

  // A conversation the page shows though GetGroups does not list it.
  function addExtra(gid, title) {
    var g = normGroup({ id: gid, topic: title, participants: [] });
    g.transient = true;
    S.extra[gid] = g;
    S.byId[gid] = g;
    return g;
  }

  // SendMessage's Participants: "" = public, else a JSON array (no separator ambiguity).
  function participantsArg(g) {
    return g.participants.length ? JSON.stringify(g.participants) : '';
  }

  function conv(gid) {
    var c = S.convs[gid];
    if (!c) {
      // list: the held history, ascending and without gaps; ids: id -> held message;
      // loaded: an answer to "open" came (before it nothing is held); shownFrom: id of the
      // oldest message in the DOM (null: all of them); seek: the id a clicked quote waits for.
      // hasNewer: the history held is a window that does not reach the newest message (a
      // search result opened with the history around it); expect: seq -> kind of the
      // requests whose answers this conversation still waits for (open, older, around, newer).
      c = {
        list: [], ids: {}, loaded: false, hasMore: null, olderPending: false, tail: null,
        shownFrom: null, seek: 0, hasNewer: false, newerPending: false, aroundId: 0, expect: {}
      };
      S.convs[gid] = c;
    }
    return c;
  }

  // Forgets what the page holds of a conversation (the messages stay known for quotes): a
  // window of history elsewhere replaces it. Answers to what was asked before are ignored.
  function resetConv(gid) {
    delete S.convs[gid];
    return conv(gid);
  }

  // ---- actions to 1C ----

  // Queues a request whose answer names its seq; the conversation waits for it.
  function ask(c, action) {
    action.seq = ++S.pendingSeq;
    c.expect[action.seq] = action.action;
    queue(action);
    return action.seq;
  }

  // Whether an answer is the one `c` waits for (a request of this kind with that seq).
  function answered(c, seq, kind) {
    var n = Number(seq);
    if (seq === undefined || seq === null || c.expect[n] !== kind) return false;
    delete c.expect[n];
    return true;
  }

  function queue(action) {
    S.queue.push(action);
    // Deferred: 1C must never be re-entered from inside its own call into the page.
    if (!S.notifyTimer) {
      S.notifyTimer = setTimeout(function () {
        S.notifyTimer = 0;
        if (S.queue.length) notify1C();
      }, 0);
    }
  }

  function notify1C() {
    var n = el.notify;
    if (typeof n.click === 'function') {
      n.click();
    } else {
      var ev = document.createEvent('MouseEvents');
      ev.initEvent('click', true, true);
      n.dispatchEvent(ev);
    }
  }

  // ---- groups list ----

  function sortGroups() {
    var idx = {};
    S.groups.forEach(function (g, i) { idx[g.id] = i; });
    S.groups.sort(function (a, b) {
      var la = a.last ? a.last.id : -1;
      var lb = b.last ? b.last.id : -1;
      if (la !== lb) return lb - la;
      return idx[a.id] - idx[b.id];
    });
  }

  function renderGroups() {
    var f = fold(S.filter);
    var frag = document.createDocumentFragment();
    var shown = 0;
    S.groups.forEach(function (g) {
      if (f && fold(groupTitle(g) + '\n' + g.participants.join('\n')).indexOf(f) < 0) return;
      shown++;
      var li = node('li', 'group' + (g.id === S.current ? ' active' : '') + (g.unread ? ' unread' : ''));
      li.setAttribute('data-id', String(g.id));
      var av = node('span', 'avatar');
      paintAvatar(av, groupTitle(g));
      li.appendChild(av);
      var body = node('div', 'group-body');
      var r1 = node('div', 'group-row');
      r1.appendChild(node('span', 'group-topic', groupTitle(g)));
      if (g.last) r1.appendChild(node('span', 'group-time', shortWhen(g.last.time)));
      body.appendChild(r1);
      var r2 = node('div', 'group-row');
      r2.appendChild(node('span', 'group-people', peopleLine(g)));
      body.appendChild(r2);
      var r3 = node('div', 'group-row');
      var preview = '';
      if (g.last) {
        preview = who(g.last) + ': ' + (g.last.deleted ? t('deleted') : (g.last.text || filesLine(g.last)).replace(/\s+/g, ' ').slice(0, 200));
      }
      r3.appendChild(node('span', 'group-preview', preview));
      if (g.mentions) {
        var at = node('span', 'badge mention', '@' + (g.mentions > 1 ? g.mentions : ''));
        at.setAttribute('title', t('mentionsOfYou') + ': ' + g.mentions);
        r3.appendChild(at);
      }
      if (g.unread) r3.appendChild(node('span', 'badge', g.unread > 999 ? '999+' : g.unread));
      body.appendChild(r3);
      li.appendChild(body);
      frag.appendChild(li);
    });
    if (listIsShort()) {
      var more = node('li', 'group-more', t(S.groupsAsked ? 'loading' : 'moreGroups'));
      more.setAttribute('data-more', '1');
      frag.appendChild(more);
    }
    el.groups.textContent = '';
    el.groups.appendChild(frag);
    el.groupsEmpty.textContent = shown ? '' : (S.groups.length ? t('noMatch') : t('noGroups'));
    // While messages are searched, their section says whether anything was found.
    el.groupsEmpty.hidden = shown > 0 || (S.search !== null && S.groups.length > 0);
  }

  // The list holds only the newest groups: there may be more in the store.
  function listIsShort() {
    return S.groupsLimit > 0 && S.groups.length >= S.groupsLimit;
  }

  // Asks 1C for a longer list (0: the whole one), once per size.
  // S.groupsAsked: 0 nothing asked, -1 the whole list asked, N a list of N asked.
  function askGroups(limit) {
    if (S.groupsAsked === -1) return;
    if (limit > 0 && limit <= Math.max(S.groupsAsked, S.groupsLimit)) return;
    S.groupsAsked = limit > 0 ? limit : -1;
    queue({ action: 'groups', limit: limit > 0 ? limit : 0 });
  }

  // Filtering a list that is not whole: the whole one is needed to find by name. The short
  // limit (with a "more" still on its way) is remembered for when the filter is cleared.
  function askWholeForFilter() {
    if (!S.filter || !listIsShort() || S.groupsAsked === -1) return;
    S.groupsShort = Math.max(S.groupsLimit, S.groupsAsked);
    askGroups(0);
  }

  // The filter is cleared: the short list again, or 1C would reload the whole list on every
  // event until the form closes. Once per clear (groupsShort is spent); answers then come in
  // order (whole, then short), and the open conversation stays through S.extra.
  function askShortAgain() {
    if (S.filter || !S.groupsShort) return;
    var limit = S.groupsShort;
    S.groupsShort = 0;
    // No longer waiting for a longer list: "more" works once the short one comes.
    S.groupsAsked = 0;
    queue({ action: 'groups', limit: limit });
  }

  function setGroups(arr, limit) {
    var list = [];
    var byId = {};
    arr.forEach(function (raw) {
      var g = normGroup(raw);
      if (g && !byId[g.id]) { list.push(g); byId[g.id] = g; }
    });
    var before = S.byId[S.current];
    // A short list may leave out the open conversation: it stays shown.
    if (before && !byId[before.id] && !S.extra[before.id]) S.extra[before.id] = before;
    S.groups = list;
    S.byId = byId;
    S.groupsLimit = limit > 0 ? limit : 0;
    // The answer to what was asked (or a longer one) has come.
    if (S.groupsLimit === 0 || (S.groupsAsked > 0 && S.groupsAsked <= S.groupsLimit)) S.groupsAsked = 0;
    // The page may know newer messages than the store answer that raced with them.
    list.forEach(function (g) {
      var c = S.convs[g.id];
      var tail = c && c.list.length ? c.list[c.list.length - 1] : null;
      if (tail && (!g.last || tail.id > g.last.id)) g.last = tail;
      else if (g.last && S.known[g.last.id] && S.known[g.last.id].rev > g.last.rev) g.last = S.known[g.last.id];
      // A store answer older than our own read mark must not bring the badge back.
      if (g.last && (S.readSent[g.id] || 0) >= g.last.id) { g.unread = 0; g.mentions = 0; }
    });
    sortGroups();
    renderGroups();
    // Shown conversations that GetGroups does not list stay, until it lists them.
    Object.keys(S.extra).forEach(function (k) {
      if (byId[k]) delete S.extra[k]; else byId[k] = S.extra[k];
    });
    var now = S.byId[S.current];
    if (now) {
      renderConvHead();
      // Another member read further: the ticks of own messages change.
      if (before && before.readsKey !== now.readsKey) refreshShown(function (m) { return sameUser(m.publisher, S.user); });
    }
    openPendingNew();
  }

  // ---- conversation ----

  function atBottom() {
    var m = el.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < BOTTOM_SLACK_PX;
  }

  function scrollToBottom() {
    el.messages.scrollTop = el.messages.scrollHeight;
    S.newBelow = 0;
    updateJump();
  }

  // The jump button: new messages below, or a window of history away from the newest.
  function updateJump() {
    var c = S.current !== null ? S.convs[S.current] : null;
    var away = !!(c && c.hasNewer);
    el.jumpCount.textContent = S.newBelow > 0 ? String(S.newBelow) : '';
    el.jump.className = 'jump' + (S.newBelow > 0 || away ? ' shown' : '');
    el.jump.setAttribute('title', away ? t('toNewest') : '');
  }

  function mainVisible() {
    if (S.mode !== 'conv') return false;
    var narrow = window.matchMedia ? window.matchMedia('(max-width: 640px)').matches : false;
    return !narrow || root.className.indexOf('show-main') >= 0;
  }

  function setMode(mode, showMain) {
    S.mode = mode;
    root.className = 'app mode-' + mode + (showMain ? ' show-main' : '') + (S.single !== null ? ' single' : '');
  }

  function renderConvHead() {
    var g = S.byId[S.current];
    if (!g) return;
    paintAvatar(el.convAvatar, groupTitle(g));
    el.convTopic.textContent = groupTitle(g);
    el.convPeople.textContent = peopleLine(g);
    // A discussion in the whole chat links to its object (on the object's own form it would
    // only open that form again).
    var link = S.single === null && g.context && /^(e1cib\/|e1c:\/\/)/i.test(g.context) ? g.context : '';
    el.convLink.hidden = !link;
    el.convLink.setAttribute('data-url', link);
  }

  // Builds one message element; `prev` decides day separator and run continuation.
  // Held messages (with an id) get the menu button, a pending edit or delete, and in
  // private groups the read ticks of own messages; pending sends (no id) only the text.
  function messageNode(m, prev, extraCls) {
    var own = sameUser(m.publisher, S.user);
    var cont = prev && prev.publisher === m.publisher && dayKey(prev.time) === dayKey(m.time) &&
      m.time - prev.time < RUN_GAP_MS;
    var held = isId(m.id);
    var edit = held ? S.edits[m.id] : null;
    var row = node('div', 'msg' + (own ? ' own' : '') + (cont ? ' cont' : '') + (m.deleted ? ' deleted' : '') +
      (!own && mentionsMe(m) ? ' to-me' : '') + (edit && edit.failed ? ' edit-failed' : '') + (extraCls || ''));
    if (held) row.setAttribute('data-id', String(m.id));
    if (edit && edit.failed) row.setAttribute('title', t('retryEdit'));
    if (!own) {
      var av = node('span', 'avatar small');
      paintAvatar(av, m.publisher);
      row.appendChild(av);
    }
    var bubble = node('div', 'bubble');
    if (!own && !cont) {
      var a = node('div', 'author', m.publisher);
      a.style.color = 'hsl(' + hue(m.publisher) + ',55%,38%)';
      bubble.appendChild(a);
    }
    if (m.replyTo && !m.deleted) bubble.appendChild(quoteNode(m.group, m.replyTo));
    if (m.files && m.files.length && !m.deleted) bubble.appendChild(filesNode(m.files));
    var text = node('span', 'text');
    if (m.deleted) text.textContent = t('deleted'); else richText(text, edit && !edit.failed ? edit.text : m.text, m.mentions);
    bubble.appendChild(text);
    var seen = own && held && !m.deleted ? seenBy(S.byId[m.group], m) : null;
    if (seen && S.seen[m.id]) bubble.appendChild(node('div', 'seen-line', seenText(seen)));
    // An invisible copy of the time reserves room at the end of the last line, so the
    // real (absolutely placed) time sits beside short texts instead of under them.
    var status = m.status || (edit ? t(edit.failed ? 'notSaved' : 'saving') : '') ||
      (held && S.deleting[m.id] ? t('deleting') : '');
    var when = status || (m.edited && !m.deleted ? t('edited') + ' ' : '') + clock(m.time);
    var ticks = seen ? (seen.length ? '\u2713\u2713' : '\u2713') : '';
    bubble.appendChild(node('span', 'tspace', ticks ? when + ' ' + ticks : when));
    var time = node('span', 'time', when);
    if (ticks) {
      var tick = node('span', 'ticks' + (seen.length ? ' seen' : ''), ticks);
      tick.setAttribute('title', seenText(seen));
      time.appendChild(document.createTextNode(' '));
      time.appendChild(tick);
    }
    bubble.appendChild(time);
    var act = null;
    if (held && !m.deleted) {
      act = node('button', 'msg-act', '\u22ef');
      act.setAttribute('type', 'button');
      act.setAttribute('title', t('actions'));
    }
    if (act && own) row.appendChild(act);
    row.appendChild(bubble);
    if (act && !own) row.appendChild(act);
    return row;
  }

  // The quote above a reply: the original's author and first words; an original older
  // than the history held is asked for (once) and shown when it comes.
  function quoteNode(gid, id) {
    var q = node('div', 'quote');
    q.setAttribute('data-reply', String(id));
    var o = S.known[id];
    if (o) {
      var a = node('div', 'quote-author', who(o));
      a.style.color = 'hsl(' + hue(o.publisher) + ',55%,38%)';
      q.appendChild(a);
      q.appendChild(node('div', 'quote-text', gist(o)));
    } else {
      q.appendChild(node('div', 'quote-text', t('earlier')));
      if (isId(gid) && !S.quoteAsked[id]) {
        S.quoteAsked[id] = true;
        queue({ action: 'quote', group: gid, id: id });
      }
    }
    return q;
  }

  // Members of a private group whose read mark reaches the message, in the group's order;
  // null where there are no read marks (public topics).
  function seenBy(g, m) {
    if (!g || !g.participants.length || !g.reads) return null;
    var order = {};
    g.participants.forEach(function (p, i) { order[p.toLowerCase()] = i + 1; });
    var names = g.reads.filter(function (r) { return !sameUser(r.name, S.user) && r.upTo >= m.id; })
      .map(function (r) { return r.name; });
    names.sort(function (x, y) {
      return (order[x.toLowerCase()] || 1e9) - (order[y.toLowerCase()] || 1e9) || (x < y ? -1 : x > y ? 1 : 0);
    });
    return names;
  }

  function seenText(names) {
    return names.length ? t('seenBy') + ' ' + names.join(', ') : t('notSeen');
  }

  function daySeparator(ms) {
    var d = node('div', 'day');
    d.appendChild(node('span', '', dayLabel(ms)));
    return d;
  }

  function appendTo(frag, msgs, prev) {
    msgs.forEach(function (m) {
      if (!prev || dayKey(prev.time) !== dayKey(m.time)) frag.appendChild(daySeparator(m.time));
      frag.appendChild(messageNode(m, prev));
      prev = m;
    });
    return prev;
  }

  // http(s) links and 1C's navigation links (e1cib/..., e1c://...); everything else, such as
  // javascript: or file:, stays text.
  var URL_RE = /\bhttps?:\/\/[^\s<>"']+|\be1c:\/\/[^\s<>"']+|\be1cib\/[^\s<>"']+/gi;

  // Text with its links and the @mentions the store resolved (`names`). A web link keeps its
  // href; a 1C link has none (the field must never try to load it): the form opens it.
  function richText(parent, text, names) {
    var last = 0;
    var m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text)) !== null) {
      var url = m[0].replace(/[.,;:!?)\]}\u00bb\u201d]+$/, '');
      if (!url.length || /^e1cib\/$/i.test(url)) continue;
      if (m.index > last) mentionText(parent, text.slice(last, m.index), names);
      var a = node('a', 'link', url);
      if (/^https?:\/\//i.test(url)) {
        a.setAttribute('href', url);
        a.setAttribute('target', '_blank');
        a.setAttribute('rel', 'noopener noreferrer');
      } else {
        a.className = 'link e1c';
        a.setAttribute('data-url', url);
        a.setAttribute('tabindex', '0');
        a.setAttribute('title', t('openObject'));
      }
      parent.appendChild(a);
      last = m.index + url.length;
      URL_RE.lastIndex = last;
    }
    if (last < text.length) mentionText(parent, text.slice(last), names);
  }

  // After a name: it goes on (a letter, digit, "_", "-" or "." follows, past dots that end
  // a sentence), so the name was not where the text stops. As the add-in decides mentions.
  var NAME_GOES_ON = /^\.*[0-9A-Za-z_\-\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u052f]/;

  // "@" + a mentioned name (any case) that ends there, the longest name first where several fit.
  function mentionText(parent, s, names) {
    var sorted = names.filter(function (n) { return n.length > 0; })
      .sort(function (x, y) { return y.length - x.length; });
    var from = 0;
    var at = sorted.length ? s.indexOf('@') : -1;
    while (at >= 0) {
      var hit = '';
      for (var i = 0; i < sorted.length && !hit; i++) {
        var name = sorted[i];
        var end = at + 1 + name.length;
        if (s.slice(at + 1, end).toLowerCase() === name.toLowerCase() && !NAME_GOES_ON.test(s.slice(end))) hit = s.slice(at, end);
      }
      if (!hit) {
        at = s.indexOf('@', at + 1);
        continue;
      }
      if (at > from) parent.appendChild(document.createTextNode(s.slice(from, at)));
      parent.appendChild(node('span', 'mention' + (sameUser(hit.slice(1), S.user) ? ' me' : ''), hit));
      from = at + hit.length;
      at = s.indexOf('@', from);
    }
    if (from < s.length) parent.appendChild(document.createTextNode(s.slice(from)));
  }

  // ---- files ----

  function filesNode(files) {
    var box = node('div', 'files');
    files.forEach(function (f) { box.appendChild(fileNode(f)); });
    return box;
  }

  function inlineImage(f) {
    return isId(f.id) && INLINE_TYPES[f.type] === 1 && f.size <= INLINE_MAX && S.fileData[f.id] !== false;
  }

  // An image up to 2 MB inline (its data asked for once: "image"), else a card with name and
  // size. A click on either saves the file ("save"); a file still being sent has no id.
  function fileNode(f) {
    var held = isId(f.id);
    var box;
    if (inlineImage(f)) {
      var data = S.fileData[f.id];
      box = node('div', 'file image' + (data ? '' : ' loading'));
      if (data) {
        var img = node('img');
        img.setAttribute('alt', f.name);
        img.addEventListener('load', imageLoaded);
        img.src = data;
        box.appendChild(img);
      } else if (!S.fileAsked[f.id]) {
        S.fileAsked[f.id] = f.type;
        queue({ action: 'image', id: f.id, type: f.type });
      }
    } else {
      box = node('div', 'file card');
      var ext = /\.([0-9A-Za-z]{1,4})$/.exec(f.name);
      box.appendChild(node('span', 'file-icon', ext ? ext[1].toUpperCase() : ''));
      var body = node('span', 'file-body');
      body.appendChild(node('span', 'file-name', f.name));
      body.appendChild(node('span', 'file-size', sizeText(f.size)));
      box.appendChild(body);
    }
    if (held) {
      box.setAttribute('data-file', String(f.id));
      box.setAttribute('data-name', f.name);
      box.setAttribute('title', f.name + ' \u00b7 ' + sizeText(f.size) + ' \u00b7 ' + t('saveFile'));
    }
    return box;
  }

  // An image grew the list: one that was read at the bottom stays at the bottom.
  function imageLoaded(e) {
    var m = el.messages;
    var grown = e && e.target ? e.target.offsetHeight : 0;
    if (m.scrollHeight - m.scrollTop - m.clientHeight < BOTTOM_SLACK_PX + grown) scrollToBottom();
  }

  // 1536 -> "1.5 KB" ("1,5 КБ").
  function sizeText(n) {
    var units = t('units');
    var v = n;
    var i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    var num = i === 0 ? String(v) : (v < 10 ? v.toFixed(1).replace(/\.0$/, '') : String(Math.round(v)));
    return num.replace('.', t('decimal')) + ' ' + units[i];
  }

  // The form's answer to "image": the file's bytes as base64 (line breaks allowed, as
  // Base64Строка makes them), or "" when the file cannot be had (then a card is shown). Only
  // the types shown inline become an image, under the type the message named.
  function setFileData(fid, b64, type) {
    var want = S.fileAsked[fid];
    var mime = INLINE_TYPES[want] === 1 ? want : String(type || '').toLowerCase();
    var data = String(b64 === undefined || b64 === null ? '' : b64).replace(/\s+/g, '');
    if (data && INLINE_TYPES[mime] === 1 && /^[A-Za-z0-9+\/]+={0,2}$/.test(data)) {
      S.fileData[fid] = 'data:' + mime + ';base64,' + data;
    } else {
      S.fileData[fid] = false;
    }
    var stick = S.mode === 'conv' && atBottom();
    refreshShown(function (m) { return m.files.some(function (f) { return f.id === fid; }); });
    if (stick) scrollToBottom();
  }

  // A file by its name, or "screenshot-<time>.<ext>" for a pasted image the engine calls "image.png".
  function droppedName(file) {
    var name = String(file.name || '');
    if (name && !/^image\.[a-z]+$/i.test(name)) return name;
    var ext = /^image\/([a-z]+)/i.exec(String(file.type || ''));
    var d = new Date();
    return 'screenshot-' + d.getFullYear() + pad2(d.getMonth() + 1) + pad2(d.getDate()) + '-' + pad2(d.getHours()) +
      pad2(d.getMinutes()) + pad2(d.getSeconds()) + '.' + (ext ? ext[1].toLowerCase().replace('jpeg', 'jpg') : 'png');
  }

  // Files dropped or pasted into the conversation: read here when the engine can (FileReader)
  // and handed to the form as base64 ("file", then chatTakeFile); an engine that cannot read
  // them (Internet Explorer before 8.3.14) gets 1C's own file dialog instead ("attach").
  function takeFiles(files) {
    var g = S.byId[S.current];
    if (!g || S.mode !== 'conv' || !files || !files.length) return;
    var Reader = window.FileReader;
    if (!Reader) {
      chooseFiles();
      return;
    }
    if (conv(g.id).hasNewer) goNewest(); // what is sent shows at the end of the conversation
    for (var i = 0; i < files.length; i++) readFile(g.id, files[i], Reader);
  }

  function readFile(gid, file, Reader) {
    var name = droppedName(file);
    var size = count(file.size);
    if (size > FILE_MAX) {
      showError(t('tooBig') + ' ' + name + ' (' + sizeText(size) + ')');
      return;
    }
    var seq = ++S.pendingSeq;
    S.pending.push({
      seq: seq, group: gid, text: '', replyTo: 0, time: Date.now(), failed: false,
      file: { id: null, name: name, size: size, type: String(file.type || '') }
    });
    if (S.current === gid && S.mode === 'conv') {
      renderPending();
      scrollToBottom();
    }
    var r = new Reader();
    r.onload = function () {
      if (!pendingBySeq(seq)) return; // dismissed meanwhile
      var url = String(r.result || '');
      S.outbox[seq] = url.slice(url.indexOf(',') + 1);
      queue({ action: 'file', seq: seq, group: gid, name: name, size: size });
    };
    r.onerror = function () {
      S.pending = S.pending.filter(function (p) { return p.seq !== seq; });
      if (S.current === gid && S.mode === 'conv') renderPending();
      chooseFiles();
    };
    r.readAsDataURL(file);
  }

  function pendingBySeq(seq) {
    for (var i = 0; i < S.pending.length; i++) if (S.pending[i].seq === seq) return S.pending[i];
    return null;
  }

  // 1C's own file dialog: the form reads the chosen files itself and posts them.
  function chooseFiles() {
    if (S.current !== null && S.mode === 'conv') queue({ action: 'attach', group: S.current });
  }

  // Whether a drag carries files (some engines name them in `types` only, until the drop).
  function dragsFiles(e) {
    var dt = e.dataTransfer;
    if (!dt) return false;
    if (dt.files && dt.files.length) return true;
    var types = dt.types || [];
    for (var i = 0; i < types.length; i++) if (types[i] === 'Files') return true;
    return false;
  }

  function showDropping(on) {
    el.conv.className = 'conv' + (on ? ' dropping' : '');
  }

  function renderStatus(c) {
    if (c.list.length || pendingFor(S.current).length) {
      el.status.textContent = '';
    } else {
      el.status.textContent = c.hasMore === false ? t('noMessages') : t('loading');
    }
    var canOlder = c.list.length > 0 && (c.shownFrom !== null || c.hasMore !== false);
    el.olderBtn.hidden = !canOlder;
    el.olderBtn.disabled = c.olderPending;
    el.olderBtn.textContent = c.olderPending ? t('loading') : t('loadOlder');
  }

  // Full render of the open conversation; keeps the reader's distance from the bottom.
  function renderConv(keepOffset) {
    var c = conv(S.current);
    // Read the old geometry only when needed: it forces a layout of the old content.
    var fromBottom = keepOffset ? el.messages.scrollHeight - el.messages.scrollTop : 0;
    var frag = document.createDocumentFragment();
    c.tail = appendTo(frag, c.shownFrom === null ? c.list : c.list.slice(indexOfId(c.list, c.shownFrom)), null);
    el.list.textContent = '';
    el.list.appendChild(frag);
    renderPending();
    renderStatus(c);
    if (keepOffset) el.messages.scrollTop = el.messages.scrollHeight - fromBottom;
    else scrollToBottom();
  }

  // Index of the first message with id >= `id` (the list is ascending by id).
  function indexOfId(list, id) {
    var lo = 0;
    var hi = list.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (list[mid].id < id) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // Only the newest WINDOW messages go to the DOM when a conversation is shown afresh.
  function resetWindow(c) {
    c.shownFrom = c.list.length > WINDOW ? c.list[c.list.length - WINDOW].id : null;
  }

  // Puts the previous chunk of held messages above the shown ones; the reader's view
  // does not move. Returns false when everything held is already shown.
  function revealOlder() {
    var c = conv(S.current);
    if (c.shownFrom === null) return false;
    var end = indexOfId(c.list, c.shownFrom);
    var start = Math.max(0, end - WINDOW);
    var fromBottom = el.messages.scrollHeight - el.messages.scrollTop;
    var frag = document.createDocumentFragment();
    var last = appendTo(frag, c.list.slice(start, end), null);
    // The old first message now has a predecessor: redo its separator and header.
    var firstDay = el.list.firstChild;
    var firstMsg = el.list.querySelector('.msg');
    var old = c.list[end];
    if (firstDay && firstDay.className === 'day' && dayKey(last.time) === dayKey(old.time)) el.list.removeChild(firstDay);
    if (firstMsg) el.list.replaceChild(messageNode(old, last), firstMsg);
    el.list.insertBefore(frag, el.list.firstChild);
    c.shownFrom = start === 0 ? null : c.list[start].id;
    renderStatus(c);
    el.messages.scrollTop = el.messages.scrollHeight - fromBottom;
    return true;
  }

  // Rebuilds, in place, the shown messages of the open conversation that `test` picks
  // (an edit, a tombstone, a quote's original that came, new read marks).
  function refreshShown(test) {
    if (S.current === null || S.mode !== 'conv') return;
    var c = conv(S.current);
    var start = c.shownFrom === null ? 0 : indexOfId(c.list, c.shownFrom);
    var rows = el.list.querySelectorAll('.msg[data-id]');
    for (var i = 0; i < rows.length; i++) {
      var m = c.ids[Number(rows[i].getAttribute('data-id'))];
      if (!m || !test(m)) continue;
      var at = indexOfId(c.list, m.id);
      rows[i].parentNode.replaceChild(messageNode(m, at > start ? c.list[at - 1] : null), rows[i]);
    }
  }

  function refreshOne(id) {
    refreshShown(function (m) { return m.id === id; });
  }

  // Scrolls the open conversation to a held message and makes it blink; false when the
  // message is not held.
  function jumpTo(id) {
    var c = conv(S.current);
    if (!c.ids[id]) return false;
    if (c.shownFrom !== null && id < c.shownFrom) {
      c.shownFrom = id;
      renderConv(true);
    }
    var row = el.list.querySelector('.msg[data-id="' + id + '"]');
    if (!row) return false;
    var box = el.messages.getBoundingClientRect();
    var r = row.getBoundingClientRect();
    el.messages.scrollTop += r.top - box.top - Math.max(40, (box.bottom - box.top - (r.bottom - r.top)) / 3);
    row.className += ' flash';
    setTimeout(function () { row.className = row.className.replace(/ flash/g, ''); }, 1600);
    return true;
  }

  // A click on a quote: to the original, asking for older pages until it is held.
  function seekTo(id) {
    var c = conv(S.current);
    if (jumpTo(id)) return;
    if (!c.loaded || !c.list.length || id > c.list[0].id) return;
    c.seek = id;
    continueSeek(c);
  }

  function continueSeek(c) {
    if (jumpTo(c.seek)) {
      c.seek = 0;
    } else if (c.hasMore === false) {
      c.seek = 0;
      showError(t('noOriginal'));
    } else {
      askOlder(c);
    }
  }

  function pendingFor(gid) {
    return S.pending.filter(function (p) { return p.group === gid; });
  }

  function renderPending() {
    el.pendingList.textContent = '';
    var c = conv(S.current);
    var prev = c.tail;
    pendingFor(S.current).forEach(function (p) {
      var m = {
        id: null, group: p.group, publisher: S.user, text: p.text, time: p.time, replyTo: p.replyTo,
        mentions: [], files: p.file ? [p.file] : [], status: p.failed ? t('notSent') : t('sending')
      };
      if (!prev || dayKey(prev.time) !== dayKey(m.time)) el.pendingList.appendChild(daySeparator(m.time));
      var n = messageNode(m, prev, p.failed ? ' failed' : ' pending');
      n.setAttribute('data-seq', String(p.seq));
      if (p.failed) n.setAttribute('title', t(p.file ? 'retryFile' : 'retry'));
      el.pendingList.appendChild(n);
      prev = m;
    });
  }

  // Opens a conversation at its newest messages, or (`aroundId`) at that message with the
  // history around it: "around" instead of "open", for a conversation that holds nothing.
  function openGroup(gid, aroundId) {
    var g = S.byId[gid];
    if (!g || (S.single !== null && gid !== S.single)) return false;
    leaveConv();
    S.current = gid;
    S.newBelow = 0;
    setMode('conv', true);
    renderConvHead();
    renderGroups();
    var c = conv(gid);
    resetWindow(c);
    renderConv(false);
    el.input.value = S.drafts[gid] || '';
    autosize();
    if (c.aroundId) delete c.expect[c.aroundSeq]; // a window asked for before: its answer is ignored
    c.aroundId = aroundId || 0;
    if (aroundId) {
      c.aroundSeq = ask(c, { action: 'around', group: gid, id: aroundId });
    } else if (c.list.length) {
      // Asked on every open: an unanswered one (1C failed) must not block the next.
      queue({ action: 'open', group: gid, after: c.list[c.list.length - 1].id });
    } else {
      ask(c, { action: 'open', group: gid, after: 0 });
    }
    maybeMarkRead();
    focusInput();
    return true;
  }

  // A search result: the conversation scrolled to the message. One held already is scrolled
  // to; otherwise the conversation is loaded afresh around it (the history held so far, if
  // any, is let go: a window elsewhere must not leave a gap in it).
  function openAt(gid, id) {
    if (S.single !== null && gid !== S.single) return false;
    if (!S.byId[gid]) addExtra(gid, '');
    var c = S.convs[gid];
    if (c && c.ids[id] && !c.aroundId) {
      if (S.current !== gid || S.mode !== 'conv') openGroup(gid); else setMode('conv', true);
      jumpTo(id);
      return true;
    }
    resetConv(gid);
    return openGroup(gid, id);
  }

  // The answer to "around": the message and the history before it (GetHistory up to it) and
  // after it (GetMessages after it); hasNewer: the window does not reach the newest message.
  function showAround(gid, older, newer, hasOlder, hasNewer, seq) {
    var c = conv(gid);
    if (!c.aroundId || !answered(c, seq, 'around')) return;
    var id = c.aroundId;
    c.aroundId = 0;
    c.loaded = true;
    merge(older.concat(newer).filter(function (m) { return m && m.group === gid; }), 'older');
    c.hasMore = !!hasOlder;
    c.hasNewer = !!hasNewer;
    c.shownFrom = null;
    if (S.current === gid && S.mode === 'conv') {
      renderConv(false);
      var at = indexOfId(c.list, id);
      if (at < c.list.length) jumpTo(c.list[at].id);
    }
    sortGroups();
    renderGroups();
  }

  // Scrolled to the bottom of a window away from the newest: the next page after it.
  function askNewer(c) {
    if (!c.hasNewer || c.newerPending || !c.list.length) return;
    c.newerPending = true;
    ask(c, { action: 'newer', group: S.current, after: c.list[c.list.length - 1].id });
  }

  // The answer to "newer": the page after the window, added below without moving the view.
  function appendMessages(gid, arr, hasMore, seq) {
    var c = conv(gid);
    if (!answered(c, seq, 'newer')) return;
    c.newerPending = false;
    var touched = merge(arr.filter(function (m) { return m && m.group === gid; }), 'newer');
    c.hasNewer = !!hasMore;
    var info = touched[gid];
    if (S.current === gid && S.mode === 'conv') {
      var top = el.messages.scrollTop;
      if (info && info.reordered) {
        renderConv(true);
      } else if (info && info.appended.length) {
        var frag = document.createDocumentFragment();
        c.tail = appendTo(frag, info.appended, c.tail);
        el.list.appendChild(frag);
        renderPending();
      }
      renderStatus(c);
      el.messages.scrollTop = top;
      updateJump();
      if (atBottom()) askNewer(c); // the page fits in the view: no scroll would ask for more
    }
    sortGroups();
    renderGroups();
    maybeMarkRead();
  }

  // "To the newest" from a window of history: the conversation loads afresh at its end.
  function goNewest() {
    var gid = S.current;
    if (gid === null) return;
    resetConv(gid);
    openGroup(gid);
  }

  function focusInput() {
    // Only on wide forms: on a phone-sized field it would pop up the keyboard.
    if (window.innerWidth > 640) {
      try { el.input.focus(); } catch (e) { /* field not focusable yet */ }
    }
  }

  function maybeMarkRead() {
    if (S.current === null || !mainVisible() || !atBottom()) return;
    var c = conv(S.current);
    if (!c.list.length || c.hasNewer) return; // a window of older history is not the newest read
    var upTo = c.list[c.list.length - 1].id;
    var g = S.byId[S.current];
    if (upTo > (S.readSent[S.current] || 0)) {
      S.readSent[S.current] = upTo;
      queue({ action: 'read', group: S.current, upTo: upTo });
    }
    if (g && (g.unread || g.mentions)) {
      g.unread = 0;
      g.mentions = 0;
      renderGroups();
    }
  }

  function insertSorted(c, m) {
    var list = c.list;
    if (!list.length || list[list.length - 1].id < m.id) { list.push(m); return true; }
    list.splice(indexOfId(list, m.id), 0, m);
    return false;
  }

  // An edit or delete the page sent is over once a newer revision of the message arrives.
  function settle(m) {
    var e = S.edits[m.id];
    if (e && (m.deleted || m.rev > e.baseRev)) delete S.edits[m.id];
    if (!m.deleted) return;
    delete S.deleting[m.id];
    if (S.editing && S.editing.id === m.id) cancelEdit();
  }

  // Merges messages; returns per-group info on what changed. `mode` 'older': a page of
  // history (chatPrependMessages, chatShowAround), which loads the conversation and extends
  // the held history down; 'newer': the page after a window away from the newest.
  function merge(arr, mode) {
    var touched = {};
    arr.forEach(function (raw) {
      var m = normMsg(raw);
      if (!m) return;
      var info = touched[m.group];
      if (!info) {
        info = { appended: [], reordered: false, others: 0, changed: {} };
        touched[m.group] = info;
      }
      // S.known: the newest revision of every message seen, held or not.
      var k = S.known[m.id];
      if (k && k.rev >= m.rev) {
        m = k;
      } else {
        S.known[m.id] = m;
        info.changed[m.id] = true;
        settle(m);
      }
      var c = conv(m.group);
      var g = S.byId[m.group];
      if (g && g.last && g.last.id === m.id && m.rev > g.last.rev) g.last = m;
      var held = c.ids[m.id];
      if (held) {
        // A newer revision (an edit, a tombstone) takes the held one's place.
        if (held !== m) {
          c.list[indexOfId(c.list, m.id)] = m;
          c.ids[m.id] = m;
          if (c.tail === held) c.tail = m;
        }
        return;
      }
      var newest = c.list.length ? c.list[c.list.length - 1].id : 0;
      // Held only in a loaded conversation, and never below the history held while older
      // history exists, nor above a window away from the newest (either would leave a gap):
      // such a message is only known, for quotes.
      var aboveWindow = c.hasNewer && mode !== 'newer' && m.id > newest;
      if (c.loaded && !aboveWindow && (mode || !c.list.length || m.id > c.list[0].id || c.hasMore === false)) {
        c.ids[m.id] = m;
        if (insertSorted(c, m)) info.appended.push(m); else info.reordered = true;
      }
      if (k) return; // seen before: counted then
      var own = sameUser(m.publisher, S.user);
      // The echo of a send is a new message, not an edit of an old one from another window.
      if (own && !m.edited && !m.deleted && m.id > newest) {
        dropPending(m);
        if (S.pendingNew && m.text === S.pendingNew.text) S.pendingNew.group = m.group;
      }
      if (g && (!g.last || m.id > g.last.id)) {
        g.last = m;
        if (!own && !m.deleted) {
          g.unread++;
          if (mentionsMe(m)) g.mentions++;
          info.others++;
        }
      }
    });
    return touched;
  }

  // The echo of a send: the same text, else (the store normalised it) the oldest one; of a
  // dropped file: the same name, else the same size.
  function dropPending(m) {
    var file = m.files.length ? m.files[0] : null;
    var first = -1;
    for (var i = 0; i < S.pending.length; i++) {
      var p = S.pending[i];
      if (p.group !== m.group || !p.file !== !file) continue;
      if (file ? p.file.name === file.name : p.text === m.text) { S.pending.splice(i, 1); return; }
      if (first < 0 && (!file || p.file.size === file.size)) first = i;
    }
    if (first >= 0) S.pending.splice(first, 1);
  }

  function addMessages(arr) {
    var wasBottom = S.mode === 'conv' && atBottom();
    var touched = merge(arr, false);
    var info = S.current !== null ? touched[S.current] : null;
    if (info && S.mode === 'conv') {
      var c = conv(S.current);
      if (info.reordered) {
        renderConv(!wasBottom);
      } else {
        // Edits and tombstones of shown messages, and replies whose original came.
        refreshShown(function (m) { return info.changed[m.id] || (m.replyTo && info.changed[m.replyTo]); });
        if (info.appended.length) {
          var frag = document.createDocumentFragment();
          c.tail = appendTo(frag, info.appended, c.tail);
          el.list.appendChild(frag);
        }
        renderPending();
        renderStatus(c);
      }
      if (S.reply && info.changed[S.reply.id]) renderCtx();
      var ownLast = info.appended.length &&
        sameUser(info.appended[info.appended.length - 1].publisher, S.user);
      if (wasBottom || ownLast) {
        scrollToBottom();
      } else {
        S.newBelow += info.others;
        updateJump();
      }
    } else if (S.current !== null && S.mode === 'conv' && S.pending.length) {
      renderPending();
    }
    sortGroups();
    renderGroups();
    openPendingNew();
    maybeMarkRead();
  }

  function prependMessages(gid, arr, hasMore, seq) {
    var c = conv(gid);
    // Not for what is held now: an answer to a request made before the conversation was let
    // go, or (from a form that names no seq) one that comes while a window is awaited.
    var kind = '';
    if (seq === undefined || seq === null) {
      if (c.aroundId) return;
    } else {
      kind = c.expect[Number(seq)];
      if (kind !== 'open' && kind !== 'older') return;
      delete c.expect[Number(seq)];
    }
    var wasEmpty = c.list.length === 0;
    arr = arr.filter(function (m) { return m && m.group === gid; });
    c.loaded = true;
    merge(arr, 'older');
    // First page: show the newest window; asked-for older page: show everything held.
    if (wasEmpty) resetWindow(c); else if (c.olderPending) c.shownFrom = null;
    if (kind !== 'open') c.olderPending = false;
    if (hasMore !== undefined && hasMore !== null) c.hasMore = !!hasMore;
    else if (!arr.length) c.hasMore = false;
    if (S.current === gid && S.mode === 'conv') {
      renderConv(!wasEmpty);
      if (c.seek) continueSeek(c);
    }
    sortGroups();
    renderGroups();
    maybeMarkRead();
  }

  function requestOlder() {
    var c = conv(S.current);
    if (revealOlder()) return;
    if (!c.list.length || c.olderPending || c.hasMore === false) return;
    askOlder(c);
  }

  function askOlder(c) {
    if (c.olderPending) return; // its answer goes on with a seek
    c.olderPending = true;
    renderStatus(c);
    ask(c, { action: 'older', group: S.current, before: c.list[0].id });
  }

  function trimText(s) { return String(s).replace(/^\s+|\s+$/g, ''); }

  // Enter in the input: saves an edit, else sends (as a reply when one is chosen).
  function sendCurrent() {
    if (S.editing) { saveEdit(); return; }
    var g = S.byId[S.current];
    var text = trimText(el.input.value);
    if (!g || !text) return;
    var replyTo = S.reply && S.reply.group === g.id ? S.reply.id : 0;
    if (conv(g.id).hasNewer) goNewest(); // what is sent shows at the end of the conversation
    var seq = ++S.pendingSeq;
    queue(postsById(g) ? { action: 'post', seq: seq, group: g.id, text: text, replyTo: replyTo } : {
      action: 'send', seq: seq, group: g.id, topic: g.topic, participants: participantsArg(g), text: text,
      replyTo: replyTo
    });
    S.pending.push({ seq: seq, group: g.id, text: text, replyTo: replyTo, time: Date.now(), failed: false });
    S.reply = null;
    renderCtx();
    el.input.value = '';
    S.drafts[g.id] = '';
    autosize();
    renderPending();
    renderStatus(conv(g.id));
    scrollToBottom();
  }

  function saveDraft() {
    if (S.current !== null) S.drafts[S.current] = el.input.value;
  }

  // Leaving a conversation: an edit or a reply being written is dropped, the draft kept.
  function leaveConv() {
    cancelEdit();
    S.reply = null;
    renderCtx();
    closeMenu();
    closeSuggest();
    if (S.current !== null) conv(S.current).seek = 0;
    saveDraft();
  }

  function autosize() {
    var i = el.input;
    i.style.height = 'auto';
    i.style.height = Math.min(i.scrollHeight + 2, 140) + 'px';
  }

  function focusAlways() {
    try { el.input.focus(); } catch (e) { /* field not focusable yet */ }
  }

  // ---- edit, delete, reply ----

  // The bar above the input: the message being edited or answered.
  function renderCtx() {
    var m = null;
    var title = '';
    if (S.editing) {
      m = S.known[S.editing.id];
      title = t('editing');
    } else if (S.reply) {
      m = S.known[S.reply.id];
      title = t('replyTo') + ' ' + (m ? who(m) : '');
    }
    el.ctx.hidden = !m;
    el.ctxTitle.textContent = title;
    el.ctxText.textContent = m ? gist(m) : '';
    el.composer.className = 'composer' + (S.editing ? ' editing' : S.reply ? ' replying' : '');
  }

  function heldMessage(id) {
    return S.current === null ? null : conv(S.current).ids[id] || null;
  }

  function startEdit(id) {
    var m = heldMessage(id);
    if (!m || m.deleted || !sameUser(m.publisher, S.user)) return;
    var failed = S.edits[id];
    S.reply = null;
    if (!S.editing) S.editing = { draft: el.input.value };
    S.editing.id = id;
    S.editing.group = m.group;
    el.input.value = failed && failed.failed ? failed.text : m.text;
    if (failed && failed.failed) {
      delete S.edits[id];
      refreshOne(id);
    }
    closeSuggest();
    renderCtx();
    autosize();
    focusAlways();
  }

  // Esc, or leaving the conversation: the input gets back what was typed before.
  function cancelEdit() {
    if (!S.editing) return;
    el.input.value = S.editing.draft;
    S.editing = null;
    renderCtx();
    autosize();
  }

  function saveEdit() {
    var e = S.editing;
    var m = conv(e.group).ids[e.id];
    var text = trimText(el.input.value);
    if (!text) return; // a message is deleted through its menu, not by emptying it
    if (!m || m.deleted || text === m.text) { cancelEdit(); return; }
    var seq = ++S.pendingSeq;
    queue({ action: 'edit', seq: seq, group: e.group, id: e.id, text: text });
    S.edits[e.id] = { seq: seq, text: text, baseRev: m.rev, failed: false };
    cancelEdit();
    refreshOne(e.id);
  }

  // Esc or the bar's x: the edit or the reply is given up.
  function dropCtx() {
    if (S.editing) {
      cancelEdit();
    } else {
      S.reply = null;
      renderCtx();
    }
  }

  function startReply(id) {
    var m = heldMessage(id);
    if (!m || m.deleted) return;
    cancelEdit();
    S.reply = { id: id, group: m.group };
    renderCtx();
    focusAlways();
  }

  function deleteMessage(id) {
    var m = heldMessage(id);
    if (!m || m.deleted || !sameUser(m.publisher, S.user)) return;
    var seq = ++S.pendingSeq;
    S.deleting[id] = { seq: seq };
    queue({ action: 'delete', seq: seq, group: m.group, id: id });
    refreshOne(id);
  }

  // The small menu of a message: reply to any; edit and delete (asked twice) for own ones.
  function openMenu(id, button) {
    var m = heldMessage(id);
    if (!m || m.deleted) return;
    var own = sameUser(m.publisher, S.user);
    S.menu = { id: id, armed: false };
    el.menuEdit.hidden = !own;
    el.menuDelete.hidden = !own;
    el.menuDelete.textContent = t('del');
    el.menuDelete.className = 'menu-item danger';
    el.menu.hidden = false;
    // In the scrolled list, so that it moves with its message.
    var box = el.messages.getBoundingClientRect();
    var r = button.getBoundingClientRect();
    var top = r.bottom - box.top;
    if (top + el.menu.offsetHeight > el.messages.clientHeight - 8) top = Math.max(8, r.top - box.top - el.menu.offsetHeight);
    el.menu.style.top = (top + el.messages.scrollTop) + 'px';
    el.menu.style.left = own ? 'auto' : Math.max(8, r.left - box.left) + 'px';
    el.menu.style.right = own ? Math.max(8, box.right - r.right) + 'px' : 'auto';
  }

  function closeMenu() {
    if (!S.menu) return;
    S.menu = null;
    el.menu.hidden = true;
  }

  function menuAction(act) {
    if (!S.menu) return;
    var id = S.menu.id;
    if (act === 'delete' && !S.menu.armed) {
      S.menu.armed = true;
      el.menuDelete.textContent = t('delConfirm');
      el.menuDelete.className = 'menu-item danger armed';
      return;
    }
    closeMenu();
    if (act === 'reply') startReply(id);
    else if (act === 'edit') startEdit(id);
    else if (act === 'delete') deleteMessage(id);
  }

  // ---- @mentions ----

  // Who can be mentioned: the members of a private group; in a public topic the infobase
  // users (chatSetPeople) and everyone the page has seen write or take part.
  function mentionable(g) {
    var out = [];
    var seen = {};
    var add = function (name, title) {
      name = trimText(name);
      var key = name.toLowerCase();
      if (!name || seen[key] || sameUser(name, S.user)) return;
      seen[key] = true;
      out.push({ name: name, title: trimText(title || '') || name });
    };
    if (g.participants.length) {
      g.participants.forEach(function (n) { add(n); });
      return out;
    }
    (S.people || []).forEach(function (p) { add(p.name, p.title); });
    Object.keys(S.convs).forEach(function (gid) {
      S.convs[gid].list.forEach(function (m) { add(m.publisher); });
    });
    S.groups.forEach(function (og) { og.participants.forEach(function (n) { add(n); }); });
    return out;
  }

  // The "@..." being typed before the caret, if any.
  function mentionAt() {
    var v = el.input.value;
    var end = typeof el.input.selectionEnd === 'number' ? el.input.selectionEnd : v.length;
    var before = v.slice(0, end);
    var at = before.lastIndexOf('@');
    if (at < 0 || (at > 0 && !/[\s(\[{"'\u00ab]/.test(before.charAt(at - 1)))) return null;
    var q = before.slice(at + 1);
    if (q.length > 60 || /^\s|[\r\n@]/.test(q)) return null;
    return { start: at, end: end, q: q.toLowerCase() };
  }

  function fits(p, q) {
    var keys = (' ' + p.name + '\n ' + p.title).toLowerCase();
    return !q || keys.indexOf(' ' + q) >= 0;
  }

  function updateSuggest() {
    var g = S.byId[S.current];
    var at = g && S.mode === 'conv' ? mentionAt() : null;
    if (!at) { closeSuggest(); return; }
    if (!g.participants.length && !S.peopleAsked) {
      S.peopleAsked = true;
      queue({ action: 'people' });
    }
    var items = mentionable(g).filter(function (p) { return fits(p, at.q); }).slice(0, SUGGESTED);
    if (!items.length) { closeSuggest(); return; }
    var was = S.suggest ? S.suggest.items[S.suggest.index].name : '';
    var index = 0;
    items.forEach(function (p, i) { if (p.name === was) index = i; });
    S.suggest = { start: at.start, end: at.end, items: items, index: index };
    el.suggest.textContent = '';
    items.forEach(function (p, i) {
      var li = personItem(p);
      if (i === index) li.className += ' active';
      el.suggest.appendChild(li);
    });
    el.suggest.hidden = false;
  }

  function closeSuggest() {
    S.suggest = null;
    el.suggest.hidden = true;
  }

  function moveSuggest(step) {
    var s = S.suggest;
    s.index = (s.index + step + s.items.length) % s.items.length;
    var lis = el.suggest.querySelectorAll('.person');
    for (var i = 0; i < lis.length; i++) lis[i].className = 'person' + (i === s.index ? ' active' : '');
  }

  // The chosen name replaces the "@..." typed; the caret goes after it.
  function chooseMention(name) {
    var s = S.suggest;
    if (!s) return;
    var v = el.input.value;
    var insert = '@' + name + ' ';
    el.input.value = v.slice(0, s.start) + insert + v.slice(s.end);
    closeSuggest();
    autosize();
    focusAlways();
    var caret = s.start + insert.length;
    try { el.input.setSelectionRange(caret, caret); } catch (e) { /* not focusable */ }
  }

  // ---- new conversation ----

  function splitNames(s) {
    return String(s).split(/[;,]/).map(trimText).filter(function (x) { return x.length > 0; });
  }

  function nameSet(names) {
    return names.map(function (n) { return n.toLowerCase(); }).sort().filter(function (n, i, a) {
      return i === 0 || a[i - 1] !== n;
    }).join('\n');
  }

  function showNewForm() {
    leaveConv();
    setMode('new', true);
    el.newHint.textContent = '';
    // The users list costs 1C a server call: asked for once, when first needed.
    if (!S.peopleAsked) {
      S.peopleAsked = true;
      queue({ action: 'people' });
    }
    renderPeople();
    try { el.newTopic.focus(); } catch (e) { /* not focusable yet */ }
  }

  // ---- people to choose from (free text stays possible) ----

  var PEOPLE_SHOWN = 8;

  function setPeople(arr) {
    var list = [];
    var seen = {};
    arr.forEach(function (p) {
      var name = p && typeof p === 'object' ? p.name : p;
      if (name === undefined || name === null) return;
      name = trimText(name);
      var key = name.toLowerCase();
      if (!name || seen[key] || sameUser(name, S.user)) return;
      seen[key] = true;
      var title = p && typeof p === 'object' && p.title ? trimText(p.title) : '';
      list.push({ name: name, title: title || name });
    });
    S.people = list;
    renderPeople();
    if (S.mode === 'conv') updateSuggest();
  }

  // The name being typed: the text after the last separator.
  function currentToken() {
    var v = el.newPeople.value;
    var cut = Math.max(v.lastIndexOf(';'), v.lastIndexOf(','));
    return { head: v.slice(0, cut + 1), word: trimText(v.slice(cut + 1)) };
  }

  function renderPeople() {
    el.peopleList.textContent = '';
    if (!S.people || !S.people.length) { el.peopleList.hidden = true; return; }
    var token = currentToken();
    var chosen = {};
    splitNames(token.head).forEach(function (n) { chosen[n.toLowerCase()] = true; });
    var word = token.word.toLowerCase();
    var shown = 0;
    S.people.forEach(function (p) {
      if (shown >= PEOPLE_SHOWN || chosen[p.name.toLowerCase()]) return;
      if (word && (p.name + '\n' + p.title).toLowerCase().indexOf(word) < 0) return;
      shown++;
      el.peopleList.appendChild(personItem(p));
    });
    el.peopleList.hidden = shown === 0;
  }

  // One user offered in a list: avatar, title, and the name when it differs.
  function personItem(p) {
    var li = node('li', 'person');
    li.setAttribute('data-name', p.name);
    var av = node('span', 'avatar small');
    paintAvatar(av, p.title);
    li.appendChild(av);
    li.appendChild(node('span', 'person-title', p.title));
    if (p.title !== p.name) li.appendChild(node('span', 'person-name', p.name));
    return li;
  }

  // A chosen name replaces the word being typed; the next one can follow at once.
  function choosePerson(name) {
    var token = currentToken();
    var head = token.head ? trimText(token.head) + ' ' : '';
    el.newPeople.value = head + name + '; ';
    renderPeople();
    try { el.newPeople.focus(); } catch (e) { /* not focusable */ }
  }

  function submitNew() {
    var topic = trimText(el.newTopic.value);
    var people = trimText(el.newPeople.value);
    var text = trimText(el.newText.value);
    if (!topic) { el.newHint.textContent = t('needTopic'); return; }
    if (!text) { el.newHint.textContent = t('needText'); return; }
    var seq = ++S.pendingSeq;
    queue({ action: 'new', seq: seq, topic: topic, participants: people, text: text, replyTo: 0 });
    var names = people.charAt(0) === '[' ? [] : splitNames(people);
    S.pendingNew = {
      seq: seq, topic: topic, text: text, group: null,
      withMe: nameSet(names.length ? names.concat([S.user]) : []), without: nameSet(names)
    };
    el.newHint.textContent = t('creating');
  }

  function openPendingNew() {
    var p = S.pendingNew;
    if (!p) return;
    var found = p.group !== null && S.byId[p.group] ? S.byId[p.group] : null;
    if (!found) {
      S.groups.forEach(function (g) {
        var set = nameSet(g.participants);
        if (!found && g.topic === p.topic && (set === p.withMe || set === p.without)) found = g;
      });
    }
    if (!found) return;
    S.pendingNew = null;
    el.newTopic.value = '';
    el.newPeople.value = '';
    el.newText.value = '';
    el.newHint.textContent = '';
    openGroup(found.id);
  }

  // ---- search ----

  // Lower case with ё as е, one character for one, so that a match found in the folded text
  // is at the same place in the original.
  function fold(text) {
    var s = String(text);
    var lower = s.toLowerCase();
    if (lower.length !== s.length) {
      lower = '';
      for (var i = 0; i < s.length; i++) {
        var c = s.charAt(i).toLowerCase();
        lower += c.length === 1 ? c : s.charAt(i);
      }
    }
    return lower.replace(/\u0451/g, '\u0435');
  }

  // Characters, not UTF-16 units: the add-in counts them so.
  function charCount(text) {
    return text.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '_').length;
  }

  // The search box: conversation titles are filtered at once; messages are searched from
  // SEARCH_MIN characters, after a pause in typing or at once (`now`: Enter).
  function scheduleSearch(now) {
    if (S.searchTimer) {
      clearTimeout(S.searchTimer);
      S.searchTimer = 0;
    }
    var text = S.filter;
    if (S.single !== null || charCount(text) < SEARCH_MIN) { // one conversation: no list to search from
      if (S.search) {
        S.search = null;
        renderResults();
        renderGroups();
      }
      return;
    }
    if (S.search && S.search.text === text && !S.search.failed) return;
    if (now) {
      runSearch();
      return;
    }
    S.searchTimer = setTimeout(function () {
      S.searchTimer = 0;
      runSearch();
    }, SEARCH_DELAY_MS);
  }

  function runSearch() {
    var seq = ++S.pendingSeq;
    S.search = { text: S.filter, seq: seq, pending: true, failed: false, results: [], chosen: 0 };
    queue({ action: 'search', seq: seq, text: S.filter, group: 0 });
    renderResults();
    renderGroups();
  }

  // The form's answer to "search" (Search's JSON, newest first); an answer to an older
  // search than the one shown is dropped.
  function setResults(seq, arr) {
    var s = S.search;
    if (!s || s.seq !== Number(seq)) return;
    s.pending = false;
    s.results = [];
    arr.forEach(function (raw) {
      var m = normMsg(raw);
      if (m && !m.deleted) s.results.push(m);
    });
    renderResults();
  }

  function renderResults() {
    var s = S.search;
    el.results.hidden = !s;
    el.resultList.textContent = '';
    el.resultsStatus.textContent = '';
    if (!s) return;
    var frag = document.createDocumentFragment();
    s.results.forEach(function (m) { frag.appendChild(resultNode(m, s)); });
    el.resultList.appendChild(frag);
    el.resultsStatus.textContent = s.pending ? t('searching') : s.failed ? t('searchFailed') :
      s.results.length ? '' : t('noMessagesFound');
  }

  // A found message: its conversation and time, the sender and the text around the match.
  function resultNode(m, s) {
    var li = node('li', 'result' + (s.chosen === m.id ? ' active' : ''));
    li.setAttribute('data-id', String(m.id));
    li.setAttribute('data-group', String(m.group));
    var head = node('div', 'group-row');
    var g = S.byId[m.group];
    head.appendChild(node('span', 'result-conv', g ? groupTitle(g) : t('discussion')));
    head.appendChild(node('span', 'group-time', shortWhen(m.time)));
    li.appendChild(head);
    var text = node('span', 'result-text');
    text.appendChild(node('span', 'result-who', who(m) + ': '));
    highlight(text, m.text || filesLine(m), s.text);
    li.appendChild(text);
    return li;
  }

  // The part of `text` around the first match of `query`, with every match in it marked
  // (case and ё/е aside, as the add-in matches).
  function highlight(parent, text, query) {
    text = String(text).replace(/\s+/g, ' ');
    var hay = fold(text);
    var q = fold(String(query).replace(/\s+/g, ' '));
    var first = q ? hay.indexOf(q) : -1;
    var start = 0;
    if (first > RESULT_BEFORE) {
      start = first - RESULT_BEFORE;
      var space = text.indexOf(' ', start);
      if (space >= 0 && space < first) start = space + 1; // not in the middle of a word
    }
    var end = Math.max(Math.min(text.length, start + RESULT_LEN), first >= 0 ? first + q.length : 0);
    if (start > 0) parent.appendChild(document.createTextNode('\u2026'));
    var at = start;
    while (q && at < end) {
      var i = hay.indexOf(q, at);
      if (i < 0 || i >= end) break;
      if (i > at) parent.appendChild(document.createTextNode(text.slice(at, i)));
      parent.appendChild(node('mark', 'hit', text.slice(i, i + q.length)));
      at = i + q.length;
    }
    if (at < end) parent.appendChild(document.createTextNode(text.slice(at, end)));
    if (end < text.length) parent.appendChild(document.createTextNode('\u2026'));
  }

  function chooseResult(li) {
    var id = Number(li.getAttribute('data-id'));
    var gid = Number(li.getAttribute('data-group'));
    if (S.search) S.search.chosen = id;
    var items = el.resultList.querySelectorAll('.result');
    for (var i = 0; i < items.length; i++) items[i].className = 'result' + (items[i] === li ? ' active' : '');
    openAt(gid, id);
  }

  // ---- the form's object: "insert a link to it" ----

  function renderObjectButton() {
    var o = S.object;
    el.linkBtn.hidden = !o;
    el.linkBtn.setAttribute('title', o ? t('insertLink') + ' ' + (o.title || o.link) : '');
  }

  // Puts "«title» e1cib/..." at the caret; the link becomes clickable in the message.
  function insertObjectLink() {
    var o = S.object;
    if (!o) return;
    var v = el.input.value;
    var from = typeof el.input.selectionStart === 'number' ? el.input.selectionStart : v.length;
    var to = typeof el.input.selectionEnd === 'number' ? el.input.selectionEnd : v.length;
    var before = v.slice(0, from);
    var insert = (before && !/\s$/.test(before) ? ' ' : '') + (o.title ? '\u00ab' + o.title + '\u00bb ' : '') + o.link + ' ';
    el.input.value = before + insert + v.slice(to);
    autosize();
    focusAlways();
    try { el.input.setSelectionRange(from + insert.length, from + insert.length); } catch (e) { /* not focusable */ }
  }

  // ---- language, user, errors ----

  function applyLang() {
    document.documentElement.setAttribute('lang', S.lang);
    document.title = t('title');
    var each = function (sel, fn) {
      var list = document.querySelectorAll(sel);
      for (var i = 0; i < list.length; i++) fn(list[i]);
    };
    each('[data-i18n]', function (n) { n.textContent = t(n.getAttribute('data-i18n')); });
    each('[data-i18n-ph]', function (n) { n.setAttribute('placeholder', t(n.getAttribute('data-i18n-ph'))); });
    each('[data-i18n-title]', function (n) { n.setAttribute('title', t(n.getAttribute('data-i18n-title'))); });
    el.meName.textContent = S.user;
    el.meName.setAttribute('title', S.user);
    paintAvatar(el.meAvatar, S.user);
    renderObjectButton();
    renderResults();
  }

  // failedSeq: the seq of the send, new-conversation, edit or delete action whose call
  // failed; absent when some other call failed (a read after a good send must not mark it).
  function showError(text, failedSeq) {
    el.errorText.textContent = String(text === undefined || text === null ? '' : text);
    el.error.className = 'error shown';
    if (S.errorTimer) clearTimeout(S.errorTimer);
    S.errorTimer = setTimeout(hideError, 15000);
    if (!isId(failedSeq)) return;
    var changed = false;
    S.pending.forEach(function (p) {
      if (p.seq === failedSeq && !p.failed) { p.failed = true; changed = true; }
    });
    if (changed && S.mode === 'conv') renderPending();
    var marked = {};
    Object.keys(S.edits).forEach(function (id) {
      var e = S.edits[id];
      if (e.seq === failedSeq && !e.failed) { e.failed = true; marked[id] = true; }
    });
    Object.keys(S.deleting).forEach(function (id) {
      if (S.deleting[id].seq === failedSeq) { delete S.deleting[id]; marked[id] = true; }
    });
    refreshShown(function (m) { return marked[m.id]; });
    if (S.pendingNew && S.pendingNew.seq === failedSeq) {
      S.pendingNew = null;
      el.newHint.textContent = '';
    }
    delete S.outbox[failedSeq];
    if (S.search && S.search.seq === failedSeq) {
      S.search.pending = false;
      S.search.failed = true;
      renderResults();
    }
    // A request a conversation waits for failed: it waits no more.
    Object.keys(S.convs).forEach(function (gid) {
      var c = S.convs[gid];
      var kind = c.expect[failedSeq];
      if (!kind) return;
      delete c.expect[failedSeq];
      if (kind === 'older') {
        c.olderPending = false;
        c.seek = 0;
      } else if (kind === 'newer') {
        c.newerPending = false;
      } else if (kind === 'around') {
        // No window to be had: the conversation opens at its newest messages instead.
        c.aroundId = 0;
        if (S.current === Number(gid)) ask(c, { action: 'open', group: S.current, after: 0 });
      }
      if (S.current === Number(gid) && S.mode === 'conv') renderStatus(c);
    });
  }

  function hideError() {
    el.error.className = 'error';
    S.errorTimer = 0;
  }

  // ---- bridge ----

  // A bad call from 1C shows an error instead of throwing into 1C.
  function guard(fn) {
    return function () {
      try {
        fn.apply(null, arguments);
        return true;
      } catch (e) {
        showError(t('badInput') + ': ' + (e && e.message ? e.message : String(e)));
        return false;
      }
    };
  }

  function toId(v) {
    var n = typeof v === 'string' ? Number(v) : v;
    if (!isId(n)) throw new Error('bad group id');
    return n;
  }

  window.chatSetGroups = guard(function (json, limit) {
    setGroups(asArray(json), isId(limit) ? limit : 0);
    askWholeForFilter();
  });
  window.chatAddMessages = guard(function (json) { addMessages(asArray(json)); });
  window.chatPrependMessages = guard(function (groupId, json, hasMore, seq) {
    prependMessages(toId(groupId), asArray(json), hasMore, seq);
  });
  window.chatAppendMessages = guard(function (groupId, json, hasMore, seq) {
    appendMessages(toId(groupId), asArray(json), hasMore, seq);
  });
  window.chatShowAround = guard(function (groupId, olderJson, newerJson, hasOlder, hasNewer, seq) {
    showAround(toId(groupId), asArray(olderJson), asArray(newerJson), hasOlder, hasNewer, seq);
  });
  window.chatSearchResults = guard(function (seq, json) { setResults(seq, asArray(json)); });
  window.chatSetFileData = guard(function (fileId, base64, type) { setFileData(toId(fileId), base64, type); });
  window.chatTakeFile = function (seq) {
    var n = Number(seq);
    var data = S.outbox[n];
    delete S.outbox[n];
    return typeof data === 'string' ? data : '';
  };
  window.chatSetTitle = guard(function (title) {
    S.singleTitle = String(title === undefined || title === null ? '' : title);
    // Listed or not (FillChat(Group) lists it since the store reads one group).
    var g = S.single !== null ? S.byId[S.single] : null;
    if (g) g.topic = S.singleTitle;
    if (S.mode === 'conv') renderConvHead();
  });
  window.chatSetObject = guard(function (link, title) {
    var url = String(link === undefined || link === null ? '' : link);
    S.object = /^(e1cib\/|e1c:\/\/)\S+$/i.test(url) ?
      { link: url, title: trimText(title === undefined || title === null ? '' : title).replace(/\s+/g, ' ') } : null;
    renderObjectButton();
  });
  window.chatMarkRead = guard(function (groupId, upTo) {
    var gid = toId(groupId);
    var n = toId(upTo);
    S.readSent[gid] = Math.max(S.readSent[gid] || 0, n);
    var g = S.byId[gid];
    if (g && (!g.last || n >= g.last.id)) { g.unread = 0; g.mentions = 0; }
    renderGroups();
  });
  window.chatSetUser = guard(function (user, lang) {
    S.user = String(user === undefined || user === null ? '' : user);
    if (lang !== undefined && lang !== null) S.lang = normLang(lang);
    applyLang();
    renderGroups();
    renderCtx();
    if (S.mode === 'conv') { renderConvHead(); renderConv(true); }
  });
  window.chatShowError = guard(function (text, failedSeq) {
    showError(text, typeof failedSeq === 'string' ? Number(failedSeq) : failedSeq);
  });
  window.chatSetPeople = guard(function (json) { setPeople(asArray(json)); });
  window.chatOpenGroup = guard(function (groupId) {
    if (!openGroup(toId(groupId))) throw new Error('unknown group');
  });
  window.chatTakeActions = function () {
    var out = JSON.stringify(S.queue);
    S.queue = [];
    return out;
  };

  // ---- events ----

  // The nearest of `n` and its ancestors, below `stop`, that `test` accepts; else null.
  function up(n, stop, test) {
    while (n && n !== stop) {
      if (n.nodeType === 1 && test(n)) return n;
      n = n.parentNode;
    }
    return null;
  }

  function hasAttr(name) {
    return function (n) { return n.getAttribute(name) !== null; };
  }

  function hasClass(cls) {
    return function (n) { return (' ' + n.className + ' ').indexOf(' ' + cls + ' ') >= 0; };
  }

  el.groups.addEventListener('click', function (e) {
    if (up(e.target, el.groups, hasAttr('data-more'))) {
      askGroups(S.groupsLimit + GROUPS_MORE);
      renderGroups();
      return;
    }
    var n = up(e.target, el.groups, hasAttr('data-id'));
    if (n) openGroup(Number(n.getAttribute('data-id')));
  });
  el.filter.addEventListener('input', function () {
    S.filter = trimText(el.filter.value);
    askWholeForFilter();
    askShortAgain();
    renderGroups();
    scheduleSearch(false);
  });
  el.filter.addEventListener('keydown', function (e) {
    if (e.keyCode === 13) {
      e.preventDefault();
      scheduleSearch(true);
    } else if (e.keyCode === 27 && el.filter.value) {
      el.filter.value = '';
      S.filter = '';
      askShortAgain();
      renderGroups();
      scheduleSearch(false);
    }
  });
  el.resultList.addEventListener('click', function (e) {
    var n = up(e.target, el.resultList, hasAttr('data-id'));
    if (n) chooseResult(n);
  });
  el.attach.addEventListener('click', function () { chooseFiles(); });
  el.linkBtn.addEventListener('mousedown', function (e) { e.preventDefault(); }); // keep the input's caret
  el.linkBtn.addEventListener('click', insertObjectLink);
  el.convLink.addEventListener('click', function (e) {
    e.preventDefault();
    var url = el.convLink.getAttribute('data-url') || '';
    if (OPENABLE.test(url)) queue({ action: 'link', url: url });
  });
  el.newBtn.addEventListener('click', showNewForm);
  $('placeholder-new').addEventListener('click', showNewForm);
  $('back-btn').addEventListener('click', function () { leaveConv(); setMode(S.mode, false); });
  $('new-back-btn').addEventListener('click', function () { leaveNewForm(false); });
  $('new-cancel').addEventListener('click', function () { leaveNewForm(true); });
  function leaveNewForm(keepScreen) {
    S.pendingNew = null;
    if (S.current !== null && S.byId[S.current]) {
      setMode('conv', keepScreen);
      renderConv(false);
    } else {
      setMode('none', false);
    }
  }
  el.newForm.addEventListener('submit', function (e) { e.preventDefault(); submitNew(); });
  el.newForm.addEventListener('keydown', function (e) {
    if (e.keyCode === 27) leaveNewForm(true);
  });
  el.newPeople.addEventListener('input', renderPeople);
  el.peopleList.addEventListener('click', function (e) {
    var n = up(e.target, el.peopleList, hasAttr('data-name'));
    if (n) choosePerson(n.getAttribute('data-name'));
  });
  el.suggest.addEventListener('mousedown', function (e) { e.preventDefault(); }); // keep the input's caret
  el.suggest.addEventListener('click', function (e) {
    var n = up(e.target, el.suggest, hasAttr('data-name'));
    if (n) chooseMention(n.getAttribute('data-name'));
  });
  el.olderBtn.addEventListener('click', requestOlder);
  el.jump.addEventListener('click', function () {
    if (S.current !== null && conv(S.current).hasNewer) {
      goNewest();
      return;
    }
    scrollToBottom();
    maybeMarkRead();
  });
  el.messages.addEventListener('scroll', function () {
    if (el.messages.scrollTop < 200 && S.current !== null && conv(S.current).shownFrom !== null) revealOlder();
    if (atBottom()) {
      if (S.current !== null) askNewer(conv(S.current));
      if (S.newBelow) { S.newBelow = 0; updateJump(); }
      maybeMarkRead();
    }
  });
  // A failed send goes back to the input for another try (as a reply again, if it was one);
  // a failed file is only taken away.
  function retrySend(seq) {
    S.pending = S.pending.filter(function (p) {
      if (p.seq !== seq) return true;
      if (p.file) return false;
      el.input.value = p.text;
      if (p.replyTo && heldMessage(p.replyTo)) startReply(p.replyTo);
      return false;
    });
    renderPending();
    autosize();
    focusInput();
  }
  el.messages.addEventListener('click', function (e) {
    var stop = el.messages;
    var target = e.target;
    var act = up(target, stop, hasClass('msg-act'));
    var row = up(target, stop, hasClass('msg'));
    var id = row && row.getAttribute('data-id') !== null ? Number(row.getAttribute('data-id')) : 0;
    if (act && id) {
      if (S.menu && S.menu.id === id) closeMenu(); else openMenu(id, act);
      return;
    }
    var quote = up(target, stop, hasClass('quote'));
    if (quote) { seekTo(Number(quote.getAttribute('data-reply'))); return; }
    if (up(target, stop, hasClass('ticks')) && id) {
      S.seen[id] = !S.seen[id];
      refreshOne(id);
      return;
    }
    var file = up(target, stop, hasAttr('data-file'));
    if (file) {
      queue({ action: 'save', id: Number(file.getAttribute('data-file')), name: file.getAttribute('data-name') || '' });
      return;
    }
    // Only web and 1C links are handed to the form; the field itself never navigates.
    var link = up(target, stop, function (n) { return n.tagName === 'A'; });
    if (link) {
      e.preventDefault();
      var url = link.getAttribute('href') || link.getAttribute('data-url') || '';
      if (OPENABLE.test(url)) queue({ action: 'link', url: url });
      return;
    }
    if (row && row.getAttribute('data-seq') !== null && hasClass('failed')(row)) {
      retrySend(Number(row.getAttribute('data-seq')));
    } else if (row && id && hasClass('edit-failed')(row)) {
      startEdit(id);
    }
  });
  el.menu.addEventListener('click', function (e) {
    var item = up(e.target, el.menu, hasAttr('data-act'));
    if (item) menuAction(item.getAttribute('data-act'));
  });
  document.addEventListener('click', function (e) {
    if (S.menu && !up(e.target, document, function (n) { return n === el.menu || hasClass('msg-act')(n); })) closeMenu();
  });
  document.addEventListener('keydown', function (e) {
    if (e.keyCode === 27 && S.menu) closeMenu();
  });
  $('ctx-close').addEventListener('click', function () { dropCtx(); focusInput(); });
  el.composer.addEventListener('submit', function (e) { e.preventDefault(); sendCurrent(); focusInput(); });
  el.input.addEventListener('keydown', function (e) {
    var k = e.keyCode;
    var enter = e.key === 'Enter' || k === 13;
    if (S.suggest) {
      if (k === 40 || k === 38) { e.preventDefault(); moveSuggest(k === 40 ? 1 : -1); return; }
      if ((enter && !e.shiftKey) || k === 9) {
        e.preventDefault();
        chooseMention(S.suggest.items[S.suggest.index].name);
        return;
      }
      if (k === 27) { e.preventDefault(); closeSuggest(); return; }
    }
    if (k === 27 && (S.editing || S.reply)) {
      e.preventDefault();
      dropCtx();
      return;
    }
    // keyCode 229: an IME is composing, Enter belongs to it.
    if (enter && !e.shiftKey && !e.altKey && !e.isComposing && k !== 229) {
      e.preventDefault();
      sendCurrent();
    }
  });
  el.input.addEventListener('input', function () { autosize(); updateSuggest(); });
  el.input.addEventListener('keyup', function (e) {
    // The caret moved without typing: the "@..." before it may have changed.
    if (e.keyCode >= 35 && e.keyCode <= 39 && e.keyCode !== 38) updateSuggest();
  });
  el.input.addEventListener('paste', function (e) {
    var items = e.clipboardData && e.clipboardData.items;
    var files = [];
    for (var i = 0; items && i < items.length; i++) {
      var f = items[i].kind === 'file' && typeof items[i].getAsFile === 'function' ? items[i].getAsFile() : null;
      if (f) files.push(f);
    }
    if (!files.length) return;
    e.preventDefault();
    takeFiles(files);
  });
  // A file dropped anywhere must never make the field navigate away from the chat; into an
  // open conversation it is sent. The hint shows while files are dragged over (dragover
  // comes again and again; when it stops, the hint goes).
  var dropTimer = 0;
  document.addEventListener('dragover', function (e) {
    e.preventDefault();
    var on = S.mode === 'conv' && dragsFiles(e);
    showDropping(on);
    if (dropTimer) clearTimeout(dropTimer);
    dropTimer = setTimeout(function () { showDropping(false); }, 300);
  });
  document.addEventListener('drop', function (e) {
    e.preventDefault();
    showDropping(false);
    var dt = e.dataTransfer;
    if (dt && dt.files && dt.files.length) takeFiles(dt.files);
    else if (dragsFiles(e)) chooseFiles(); // the engine names files but gives none
  });
  $('error-close').addEventListener('click', hideError);
  window.addEventListener('resize', function () { maybeMarkRead(); });

  // ---- first paint from the injected state ----

  var init = window.CHAT1C_STATE || {};
  S.user = String(init.user === undefined || init.user === null ? '' : init.user);
  S.lang = normLang(init.lang);
  // FillChat(Group): that conversation only, opened at once (it asks 1C for its messages).
  S.single = isId(init.group) && init.group > 0 ? init.group : null;
  applyLang();
  setGroups(Array.isArray(init.groups) ? init.groups : [], isId(init.groupsLimit) ? init.groupsLimit : 0);
  setMode('none', false);
  if (S.single !== null) {
    if (!S.byId[S.single]) addExtra(S.single, '');
    openGroup(S.single);
  }
}());
