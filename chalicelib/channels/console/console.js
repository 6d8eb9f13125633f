// The Friday Night staff console: a client of the JSON API (the same routes scripts use), plain
// ES module and Fetch, no framework. Every URL comes from where the page was served, so it works
// under a stage path (".../api/console"). Customer text is only ever set as text, never as HTML.

const BASE = location.pathname.replace(/\/console(\/.*)?$/, "");
const ROUTE = location.pathname.slice(BASE.length + "/console".length) || "/";
const state = { me: null, csrf: null, team: null, timer: null, skew: 0 };
const now = () => Date.now() + state.skew;  // the server's clock (local mode may start on a Friday night)
const $ = (id) => document.getElementById(id);

// The console's words in the reader's language (people.language; before signing in, the browser's):
// the page hands them over in <html data-words> (the catalogue's context "console", `make
// catalogues`), keyed by the English text; a text without a translation reads in English.
const WORDS = JSON.parse(document.documentElement.dataset.words || "{}");
const LANG = document.documentElement.lang || "en";
const LOCALE = LANG === "en" ? "en-GB" : LANG;
function tr(text, values) {
  let out = Object.prototype.hasOwnProperty.call(WORDS, text) ? WORDS[text] : text;
  for (const [key, value] of Object.entries(values || {})) out = out.split(`{${key}}`).join(String(value));
  return out;
}

// --- small helpers -------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, message, field) { super(message); this.status = status; this.field = field; }
}

// What each GET last answered, with its ETag: a poll that finds nothing new gets 304 and no body (issue 36).
const answered = new Map();

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.csrf && method !== "GET") headers["X-CSRF-Token"] = state.csrf;
  const known = method === "GET" ? answered.get(path) : undefined;
  if (known) headers["If-None-Match"] = known.etag;
  const response = await fetch(BASE + path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 304 && known) return structuredClone(known.data);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = data.error || {};
    if (response.status === 401 && !path.startsWith("/auth/")) { answered.clear(); showSignIn(); }
    throw new ApiError(response.status, err.message || `HTTP ${response.status}`, err.field);
  }
  const etag = method === "GET" && response.headers.get("ETag");
  if (etag) {
    answered.delete(path);
    answered.set(path, { etag, data: structuredClone(data) });
    if (answered.size > 200) answered.delete(answered.keys().next().value);  // the oldest
  }
  return data;
}

function zone() {
  return (state.me && state.me.timezone) || Intl.DateTimeFormat().resolvedOptions().timeZone;
}

// "Fri 04 Dec 22:10 CET": every time names its zone (the reader's own, or the one given).
function when(iso, tz) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(LOCALE, {
    weekday: "short", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit",
    timeZone: tz || zone(), timeZoneName: "short",
  }).format(new Date(iso));
}

function timeLeft(iso) {
  if (!iso) return tr("no clock");
  const minutes = Math.round((new Date(iso) - now()) / 60000);
  const span = (m) => (m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`);
  return minutes >= 0 ? tr("{time} left", { time: span(minutes) }) : tr("overdue {time}", { time: span(-minutes) });
}

function say(where, message, kind) {
  const box = typeof where === "string" ? $(where) : where;
  if (!box) return;
  box.textContent = message;
  box.className = kind === "error" ? "note error" : "note ok";
}

function page(title, ...content) {
  // On a desktop the inbox and a ticket share the screen (list and detail): the ticket goes to
  // the detail pane under an h2, the list keeps the page's one h1.
  const detail = $("pane-detail");
  (detail || $("main")).replaceChildren(el(detail ? "h2" : "h1", { text: title, class: detail ? "title" : null }), ...content);
  document.title = `${title} · Friday Night`;  // the product's name is not translated
}

const WIDE = window.matchMedia("(min-width: 64rem)");

function split() {
  $("main").replaceChildren(el("div", { class: "split" },
    el("section", { id: "pane-list", class: "pane-list", "aria-label": tr("Ticket list") }),
    el("section", { id: "pane-detail", class: "pane-detail", "aria-label": tr("Ticket") },
      el("p", { class: "muted" }, tr("Choose a ticket on the left (j / k, Enter).")))));
}

function link(path, text, attrs) {
  return el("a", { href: BASE + path, ...(attrs || {}) }, text);
}

async function team() {
  if (!state.team) state.team = (await api("GET", "/team")).items;
  return state.team;
}

function every(ms, fn) {
  clearInterval(state.timer);
  state.timer = setInterval(() => { if (!document.hidden) fn().catch(() => {}); }, ms);
}

// --- signing in ----------------------------------------------------------------------------

function showSignIn() {
  clearInterval(state.timer);
  $("nav").hidden = true;
  const error = el("p", { id: "sign-in-error", role: "alert", class: "note" });
  const phone = el("input", { id: "phone", name: "phone", type: "tel", autocomplete: "tel", required: true,
    placeholder: "+4915112345678" });
  const code = el("input", { id: "code", name: "code", inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6}", maxlength: "6" });
  const codeRow = el("div", { class: "field", hidden: true }, el("label", { for: "code" }, tr("Code")), code);
  const submit = el("button", { type: "submit" }, tr("Send code"));
  const phoneForm = el("form", { id: "phone-form" },
    el("div", { class: "field" }, el("label", { for: "phone" }, tr("Phone")), phone), codeRow, submit);
  phoneForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      if (codeRow.hidden) {
        await api("POST", "/auth/code", { phone: phone.value.trim() });
        codeRow.hidden = false;
        submit.textContent = tr("Sign in");
        say(error, tr("If this phone belongs to someone on the team, a code is on its way by SMS."), "ok");
        code.focus();
      } else {
        signedIn(await api("POST", "/auth/session", { phone: phone.value.trim(), code: code.value.trim() }));
      }
    } catch (e) { say(error, e.message, "error"); }
  });
  const key = el("input", { id: "api-key", name: "api_key", type: "password", autocomplete: "off" });
  const keyForm = el("form", { id: "key-form" },
    el("div", { class: "field" }, el("label", { for: "api-key" }, tr("API key")), key),
    el("button", { type: "submit", class: "secondary" }, tr("Sign in with the key")));
  keyForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { signedIn(await api("POST", "/auth/session", { api_key: key.value.trim() })); }
    catch (e) { say(error, e.message, "error"); }
  });
  page(tr("Sign in"), el("p", {}, tr("Your phone gets a 6-digit code by SMS.")), phoneForm, error,
    el("details", {}, el("summary", {}, tr("Sign in with an API key instead")), keyForm));
  phone.focus();
}

function signedIn(answer) {
  state.me = answer.person;
  state.csrf = answer.csrf;
  location.assign(location.pathname.endsWith("/console") || ROUTE === "/" ? BASE + "/console" : location.href);
}

async function signOut() {
  await api("DELETE", "/auth/session").catch(() => {});
  state.me = state.csrf = null;
  location.assign(BASE + "/console");
}

function showNav() {
  const admin = state.me.role === "admin";
  const items = [["/console", tr("Inbox")], ["/console/rota", tr("On call")]];
  if (admin) items.push(["/console/people", tr("People")], ["/console/templates", tr("Templates")],
    ["/console/status", tr("Status")], ["/console/report", tr("Report")]);
  const here = "/console" + (ROUTE === "/" ? "" : ROUTE);
  const nav = $("nav");
  nav.replaceChildren(...items.map(([path, name]) =>
    link(path, name, here === path || (path === "/console" && ROUTE.startsWith("/tickets")) ?
      { "aria-current": "page" } : {})),
  el("span", { class: "who" }, state.me.name),
  el("button", { type: "button", class: "link", onclick: signOut }, tr("Sign out")));
  nav.hidden = false;
}

// --- the inbox -----------------------------------------------------------------------------

const VIEWS = [["mine", tr("Mine")], ["urgent", tr("Urgent")], ["due", tr("Due soon")], ["all", tr("All")]];

// Every page of a list (its `next` cursors), up to `most` pages.
async function pages(path, most = 20) {
  let items = [];
  let next = null;
  for (let n = 0; n < most; n++) {
    const data = await api("GET", next ? `${path}&cursor=${encodeURIComponent(next)}` : path);
    items = items.concat(data.items || []);
    next = data.next;
    if (!next) break;
  }
  return items;
}

function inView(view, t) {
  if (view === "mine") return t.owner === state.me.id;
  if (view === "urgent") return t.priority === "urgent";
  if (view === "due") return t.tier_due_at && new Date(t.tier_due_at) - now() < 2 * 3600 * 1000;
  return true;
}

function order(a, b) {
  if ((a.priority === "urgent") !== (b.priority === "urgent")) return a.priority === "urgent" ? -1 : 1;
  const due = (t) => (t.tier_due_at ? new Date(t.tier_due_at).getTime() : Infinity);
  return due(a) - due(b) || a.id - b.id;
}

async function inbox() {
  const params = new URLSearchParams(location.search);
  const view = VIEWS.some(([v]) => v === params.get("view")) ? params.get("view") : "all";
  const tabs = el("nav", { class: "tabs", "aria-label": tr("Views") }, VIEWS.map(([v, name]) =>
    el("a", { href: `${BASE}/console?view=${v}`, "aria-current": v === view ? "page" : null }, name)));
  const list = el("ol", { id: "tickets", class: "tickets", "aria-label": tr("Tickets") });
  const live = el("p", { class: "muted", role: "status", id: "inbox-status" });
  const pane = $("pane-list");
  if (pane) {
    pane.replaceChildren(el("h1", {}, tr("Inbox")), tabs, live, list);
    list.addEventListener("click", (ev) => {
      const a = ev.target.closest("a[data-id]");
      if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
      ev.preventDefault();
      history.pushState(null, "", a.href);
      openTicket(a.dataset.id);
    });
  } else {
    page(tr("Inbox"), tabs, live, list);
  }
  async function load() {
    // Each view reads its own list from the API, every page of it (issue 36: the Urgent view filtered
    // the newest 100 in the browser and missed an urgent ticket behind 110 newer ones).
    const only = view === "urgent" ? "&priority=urgent" : view === "mine" ? "&owner=me" : "";
    const [open, pending] = await Promise.all([pages(`/tickets?status=open&limit=100${only}`),
      pages(`/tickets?status=pending&limit=100${only}`)]);
    // Two lists read one after the other: a ticket that moved between them meanwhile is in both.
    // Keep one row per ticket, the newest version.
    const newest = new Map();
    for (const t of open.concat(pending)) {
      const seen = newest.get(t.id);
      if (!seen || (t.version || 0) > (seen.version || 0)) newest.set(t.id, t);
    }
    const items = [...newest.values()].filter((t) => inView(view, t)).sort(order);
    const focused = document.activeElement && document.activeElement.dataset.id;
    list.replaceChildren(...items.map(row));
    const shown = (location.pathname.match(/\/tickets\/(\d+)$/) || [])[1];
    for (const a of list.querySelectorAll("a[data-id]")) if (a.dataset.id === shown) a.setAttribute("aria-current", "true");
    live.textContent = items.length === 1 ? tr("1 ticket") : items.length ? tr("{count} tickets", { count: items.length })
      : tr("Nothing here.");
    if (focused) { const again = list.querySelector(`a[data-id="${focused}"]`); if (again) again.focus(); }
  }
  state.refreshList = load;
  await load();
  every(5000, load);
}

async function openTicket(id) {
  try { await ticket(id); } catch (e) { if (e.status !== 401) page(tr("Something went wrong"), el("p", { role: "alert" }, e.message)); }
  if (state.refreshList) state.refreshList().catch(() => {});
}

// The API's own words (a status, a priority, a channel, an author, an event) as the reader reads them.
const CODES = { open: tr("open"), pending: tr("pending"), resolved: tr("resolved"), closed: tr("closed"),
  urgent: tr("urgent"), normal: tr("normal"), customer: tr("customer"), agent: tr("agent"), system: tr("system") };
const code = (value) => CODES[value] || value;

// Each language as its readers name it (the inbox shows a ticket's, issue 38).
const LANGUAGE_NAMES = { en: "English", de: "Deutsch", fr: "Français", ro: "Română" };

function row(tk) {
  const customer = (tk.customer && (tk.customer.name || tk.customer.contact)) || tr("unknown customer");
  const last = tk.last_message ? `${code(tk.last_message.author)}: ${tk.last_message.text}` : tr("(no message yet)");
  return el("li", { class: tk.priority === "urgent" ? "urgent" : "" },
    el("a", { href: `${BASE}/console/tickets/${tk.id}`, "data-id": String(tk.id) },
      el("span", { class: "line" }, el("strong", {}, `#${tk.id}`), " ",
        tk.priority === "urgent" ? el("span", { class: "badge" }, tr("urgent")) : "",
        ` ${customer} · ${tk.channel} · ${LANGUAGE_NAMES[tk.language] || tk.language || ""} · ${tk.owner_name || tk.owner}`),
      el("span", { class: "line last" }, last),
      el("span", { class: "line muted" }, `${code(tk.status)} · ${tr("tier {tier}", { tier: tk.tier })} · ${timeLeft(tk.tier_due_at)}`)));
}

// --- a ticket ------------------------------------------------------------------------------

async function ticket(id) {
  const [t, people, templates] = await Promise.all([api("GET", `/tickets/${id}`), team(),
    api("GET", "/templates").then((d) => d.items).catch(() => [])]);
  const result = el("p", { id: "result", role: "status", class: "note" });
  const custZone = t.customer && t.customer.timezone;
  const customer = (t.customer && (t.customer.name || t.customer.contact)) || tr("unknown customer");

  const facts = el("p", { class: "facts" },
    `${code(t.status)} · ${code(t.priority)} · ${tr("tier {tier}", { tier: t.tier })} · ${t.owner_name || t.owner} · `
    + timeLeft(t.tier_due_at),
    el("br"), `${customer} (${t.channel})`,
    custZone ? ` · ${tr("their time now {time}", { time: when(new Date(now()).toISOString(), custZone) })}` : "");

  const act = async (label, fn) => {
    try { await fn(); } catch (e) { say(result, e.message, "error"); return; }
    await ticket(id);  // the ticket as it is now, then the word that it worked (on the new page)
    if (state.refreshList) state.refreshList().catch(() => {});
    say("result", tr("{action}: done.", { action: label }), "ok");
  };
  const reason = el("input", { id: "reason", name: "reason", maxlength: "500" });
  const passForm = el("form", { class: "inline", hidden: true },
    el("label", { for: "reason" }, tr("Reason for passing up")), reason,
    el("button", { type: "submit" }, tr("Pass up now")));
  passForm.addEventListener("submit", (ev) => { ev.preventDefault();
    act(tr("Passed up"), () => api("POST", `/tickets/${id}/pass-up`, { reason: reason.value.trim() })); });
  const assignee = el("select", { id: "assignee", name: "person" },
    people.map((p) => el("option", { value: p.id, selected: p.id === t.owner }, `${p.name} (${tr("tier {tier}", { tier: p.tier })})`)));
  const assignForm = el("form", { class: "inline" },
    el("label", { for: "assignee" }, tr("Assign to")), assignee, el("button", { type: "submit", class: "secondary" }, tr("Assign")));
  assignForm.addEventListener("submit", (ev) => { ev.preventDefault();
    act(tr("Assigned"), () => api("POST", `/tickets/${id}/assign`, { person_id: assignee.value })); });
  const LANGS = [["en", "English"], ["de", "Deutsch"], ["fr", "Français"], ["ro", "Română"]];
  const lang = el("select", { id: "language", name: "language" },
    LANGS.map(([code, label]) => el("option", { value: code, selected: code === t.language }, label)));
  const langForm = el("form", { class: "inline" },
    el("label", { for: "language" }, tr("The customer's language")), lang,
    el("button", { type: "submit", class: "secondary" }, tr("Set language")));
  langForm.addEventListener("submit", (ev) => { ev.preventDefault();
    act(tr("Language set"), () => api("PUT", `/tickets/${id}/language`, { language: lang.value })); });
  // Every customer is a person (issue 38): a name the team gives their number, their earlier tickets.
  const phone = ["sms", "voice"].includes(t.channel) && t.customer && t.customer.contact;
  const nameField = el("input", { id: "customer-name", name: "name", maxlength: "100", autocomplete: "off",
    value: (t.customer && t.customer.name) || "" });
  const nameForm = el("form", { class: "inline", hidden: !phone },
    el("label", { for: "customer-name" }, tr("Customer name")), nameField,
    el("button", { type: "submit", class: "secondary" }, tr("Save name")));
  nameForm.addEventListener("submit", (ev) => { ev.preventDefault();
    act(tr("Name saved"), () => api("PATCH", `/contacts/${encodeURIComponent(phone)}`, { name: nameField.value.trim() || null })); });
  const earlierTickets = (t.customer && t.customer.earlier) || [];
  const earlier = earlierTickets.length ? el("nav", { "aria-label": tr("Earlier tickets") },
    el("h2", {}, tr("Earlier tickets")), el("ul", {}, earlierTickets.map((o) => el("li", {},
      el("a", { href: `${BASE}/console/tickets/${o.id}` }, `#${o.id} ${o.subject || ""}`.trim()),
      ` · ${code(o.status)} · ${when(o.created_at)}`)))) : "";
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", id: "ack", onclick: () => act(tr("Acknowledged"), () => api("POST", `/tickets/${id}/ack`)) },
      tr("Acknowledge")),
    el("button", { type: "button", id: "resolve", onclick: () => act(tr("Resolved"), () => api("POST", `/tickets/${id}/resolve`)) },
      tr("Resolve")),
    el("button", { type: "button", class: "secondary", onclick: () => { passForm.hidden = false; reason.focus(); } },
      tr("Pass up")));

  const said = (m) => el("li", { class: m.author },
    el("span", { class: "who" }, m.author === "customer" ? customer : m.author === "agent" ? (m.author_name || tr("Agent")) : tr("System")),
    el("span", { class: "text" }, m.text),
    el("span", { class: "at" }, when(m.at), custZone && m.author === "customer" ? ` · ${tr("theirs {time}", { time: when(m.at, custZone) })}` : ""));
  const conversation = el("ol", { class: "conversation", "aria-label": tr("Conversation") }, t.messages.map(said));
  // A long conversation shows its newest 50; earlier ones come a page at a time, above them.
  let olderCursor = t.older && t.older.messages;
  const older = el("button", { type: "button", class: "secondary", hidden: !olderCursor }, tr("Show earlier messages"));
  older.addEventListener("click", async () => {
    try {
      const pageOf = await api("GET", `/tickets/${id}/messages?cursor=${encodeURIComponent(olderCursor)}`);
      conversation.prepend(...pageOf.items.map(said));
      olderCursor = pageOf.next;
      older.hidden = !olderCursor;
    } catch (e) { say(result, e.message, "error"); }
  });

  const reply = replyForm(id, t, templates, result, () => ticket(id));
  const noteText = el("textarea", { id: "note", name: "note", rows: "2", maxlength: "4000" });
  const noteForm = el("form", {}, el("label", { for: "note" }, tr("Internal note (staff only, never sent)")), noteText,
    el("button", { type: "submit", class: "secondary" }, tr("Add note")));
  noteForm.addEventListener("submit", (ev) => { ev.preventDefault();
    if (noteText.value.trim()) act(tr("Note added"), () => api("POST", `/tickets/${id}/notes`, { text: noteText.value.trim() })); });

  const events = el("ol", { class: "events" }, t.events.map((e) => el("li", { class: e.type === "note" ? "note-event" : "" },
    el("span", { class: "at" }, when(e.at)), ` ${e.type}`, e.type === "note" ? `: ${e.text} (${e.author_name || e.actor})` : "",
    e.reason ? ` (${e.reason})` : "")));
  const survey = t.survey ? el("p", {}, tr("Survey: {state}", { state: t.survey.state })
    + (t.survey.answer ? `, ${tr("answered {answer}", { answer: t.survey.answer })}` : "")
    + (t.survey.comment ? ` — “${t.survey.comment}”` : "")) : el("p", { class: "muted" }, tr("No survey yet."));

  page(`#${t.id} ${t.subject || ""}`.trim(), facts, actions, passForm, assignForm, langForm, result,
    el("h2", {}, tr("Conversation")), older, conversation, reply, el("h2", {}, tr("Notes and events")), noteForm, events,
    el("h2", {}, tr("Survey")), survey, el("h2", { hidden: !phone }, tr("The customer")), nameForm, earlier);
}

// What became of a reply (delivery.status), as the reader reads it.
const REPLY = { queued: tr("queued"), sent: tr("sent"), delivered: tr("delivered"), stored: tr("stored"),
  "in the chat": tr("in the chat"), failed: tr("failed") };

function replyForm(id, t, templates, result, reload) {
  const text = el("textarea", { id: "reply", name: "reply", rows: "3", maxlength: "1600", "aria-describedby": "reply-hint",
    "aria-autocomplete": "list", "aria-controls": "template-list" });
  const hint = el("p", { id: "reply-hint", class: "muted" }, tr("Type / for templates; what you see is what the customer reads."));
  const choices = el("ul", { id: "template-list", role: "listbox", class: "choices", hidden: true, "aria-label": tr("Templates") });
  let chosen = null;
  async function choose(tpl) {
    const preview = await api("GET", `/tickets/${id}/preview?template=${encodeURIComponent(tpl.id)}`);
    chosen = { id: tpl.id, text: preview.text };
    text.value = preview.text;
    choices.hidden = true;
    text.focus();
  }
  text.addEventListener("input", () => {
    const typed = text.value.startsWith("/") ? text.value.slice(1).toLowerCase() : null;
    if (typed === null) { choices.hidden = true; return; }
    const matches = templates.filter((tpl) => tpl.name.toLowerCase().includes(typed)).slice(0, 8);
    choices.replaceChildren(...matches.map((tpl, i) => el("li", { role: "option", tabindex: "-1", id: `tpl-${i}`,
      onclick: () => choose(tpl), onkeydown: (ev) => { if (ev.key === "Enter") { ev.preventDefault(); choose(tpl); } } },
      el("strong", {}, `/${tpl.name}`), ` ${tpl.body.slice(0, 60)}`)));
    choices.hidden = matches.length === 0;
  });
  text.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown" && !choices.hidden) { ev.preventDefault(); choices.firstChild.focus(); }
    if (ev.key === "Enter" && !ev.shiftKey && !choices.hidden) { ev.preventDefault(); choices.firstChild.click(); }
  });
  const form = el("form", { id: "reply-form" }, el("label", { for: "reply" }, tr("Reply")), text, choices, hint,
    el("button", { type: "submit" }, tr("Send")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = chosen && text.value === chosen.text ? { template: chosen.id } : { text: text.value.trim() };
    if (!body.template && !body.text) return;
    try {
      const answer = await api("POST", `/tickets/${id}/reply`, body);
      await reload();
      const d = answer.delivery || {};
      const failure = d.error || REPLY.failed;
      say("result", d.status === "failed" ? tr("Not delivered: {error}", { error: failure })
        : tr("Reply {status}.", { status: REPLY[d.status || "stored"] || d.status }),
        d.status === "failed" ? "error" : "ok");
    } catch (e) { say(result, e.message, "error"); }
  });
  return form;
}

// --- on call ---------------------------------------------------------------------------------

async function rota() {
  const admin = state.me.role === "admin";
  const range = new URLSearchParams(location.search).get("range") === "month" ? "month" : "week";
  const days = calendarDays(range === "month" ? 35 : 7);
  const from = new Date(Math.min(days[0].start, now()));
  const to = new Date(Math.max(days[days.length - 1].end, now() + 28 * 86400 * 1000));
  const [oncall, schedule, people, plan, doc, swaps] = await Promise.all([
    api("GET", "/oncall"), api("GET", `/rota/schedule?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`),
    team(), api("GET", "/oncall/plan").catch(() => null), admin ? api("GET", "/rota").catch(() => null) : null,
    api("GET", "/rota/swaps").catch(() => ({ items: [] }))]);
  const name = (pid) => (people.find((p) => p.id === pid) || {}).name || pid;
  const result = el("p", { id: "result", role: "status", class: "note" });
  const holder = oncall.primary ? el("p", { class: "facts" },
    el("strong", {}, oncall.primary.name), ` ${tr("holds the phone until {time}", { time: when(oncall.shift && oncall.shift.end) })}`,
    oncall.backup ? `; ${tr("backup {name}", { name: oncall.backup.name })}` : "") : el("p", {}, tr("Nobody holds the phone."));
  const coming = schedule.items.filter((s) => new Date(s.end) > now()).slice(0, 12);
  const shifts = el("ol", { class: "shifts", "aria-label": tr("Coming shifts") }, coming.map((s) =>
    el("li", { class: s.override ? "override" : "" }, el("strong", {}, name(s.person_id)),
      ` ${when(s.start)} – ${when(s.end)}`, s.override ? el("span", { class: "badge" }, tr("override")) : "")));
  const ranges = el("nav", { class: "tabs", "aria-label": tr("Calendar range") }, [["week", tr("Week")], ["month", tr("Month")]].map(
    ([r, label]) => el("a", { href: `${BASE}/console/rota?range=${r}`, "aria-current": r === range ? "page" : null }, label)));
  const parts = [holder, el("h2", {}, tr("Calendar")), ranges, calendar(days, schedule.items, name, range),
    el("h2", {}, tr("Coming shifts")), shifts];
  if (plan && plan.steps) {
    parts.push(el("h2", {}, tr("Paging plan")), el("p", { class: "muted" }, tr("Who is paged if an urgent message came now:")),
      el("ol", {}, plan.steps.filter((s) => s.round === 1).map((s) =>
        el("li", {}, `${when(s.at)}: ${tr("{name} by {channel}", { name: s.name || name(s.person_id), channel: s.channel })}`))));
  }
  parts.push(el("h2", {}, tr("Swaps")), swapList(swaps.items, result), swapForm(people, result));
  if (admin && doc) {
    const overrides = (doc.overrides || []).map((o) => el("li", {}, `${name(o.person_id)}: ${when(o.start)} – ${when(o.end)} `,
      el("button", { type: "button", class: "secondary", onclick: async () => {
        try { await api("DELETE", `/rota/overrides/${o.id}`); await rota(); say("result", tr("Override removed."), "ok"); }
        catch (e) { say(result, e.message, "error"); } } }, tr("Remove override of {name}", { name: name(o.person_id) }))));
    const who = el("select", { id: "override-person" }, people.map((p) => el("option", { value: p.id }, p.name)));
    const start = el("input", { id: "override-start", type: "datetime-local", required: true });
    const end = el("input", { id: "override-end", type: "datetime-local", required: true });
    const form = el("form", { id: "override-form" },
      el("div", { class: "field" }, el("label", { for: "override-person" }, tr("Person")), who),
      el("div", { class: "field" }, el("label", { for: "override-start" }, tr("Start ({zone})", { zone: zoneName() })), start),
      el("div", { class: "field" }, el("label", { for: "override-end" }, tr("End ({zone})", { zone: zoneName() })), end),
      el("button", { type: "submit" }, tr("Add override")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api("POST", "/rota/overrides", { person_id: who.value, start: new Date(start.value).toISOString(),
          end: new Date(end.value).toISOString() });
        await rota();
        say("result", tr("Override added."), "ok");
      } catch (e) { say(result, e.message, "error"); }
    });
    parts.push(el("h2", {}, tr("Overrides")), overrides.length ? el("ul", {}, overrides) : el("p", { class: "muted" }, tr("None.")),
      el("h2", {}, tr("Add override")), form);
  }
  page(tr("On call"), result, ...parts);
}

// --- the calendar: days in the reader's zone, each with who holds the phone when -------------

const formats = new Map();
function format(options) {  // one formatter per kind and zone: the calendar asks thousands of times
  const key = JSON.stringify([zone(), options]);
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat(options.locale || "en-GB", { timeZone: zone(), ...options }));
  return formats.get(key);
}
const dayKey = (t) => format({ locale: "en-CA", year: "numeric", month: "2-digit", day: "2-digit" }).format(t);
const clockTime = (t) => format({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(t);

// The days of this week (from Monday) or of five weeks, in the reader's zone. A day's bounds are
// found by stepping in hours, so a 23- or 25-hour day (the clocks change) is still one day.
function calendarDays(count) {
  const weekday = (t) => format({ locale: "en-GB", weekday: "short" }).format(t);  // compared with "Mon"
  let t = now();
  while (weekday(t) !== "Mon") t -= 12 * 3600 * 1000;  // half days: a short day is never jumped over
  const startOf = (ms) => { const key = dayKey(ms); let s = ms - (ms % 60000);
    while (dayKey(s - 60000) === key) s -= 15 * 60000;  // quarter hours: every zone's midnight is on one
    while (dayKey(s) !== key) s += 60000;
    return s; };
  const days = [];
  let start = startOf(t);
  for (let i = 0; i < count; i += 1) {
    const next = startOf(start + 26 * 3600 * 1000);
    days.push({ key: dayKey(start), start, end: next });
    start = next;
  }
  return days;
}

function calendar(days, shifts, name, range) {
  const today = dayKey(now());
  const label = (ms) => format({ locale: LOCALE, weekday: "short", day: "2-digit", month: "short" }).format(ms);
  return el("ol", { class: `calendar ${range}`, "aria-label": tr("Calendar ({zone})", { zone: zone() }) }, days.map((d) => {
    const on = shifts.filter((s) => new Date(s.start) < d.end && new Date(s.end) > d.start);
    return el("li", { class: d.key === today ? "day today" : "day", "aria-current": d.key === today ? "date" : null },
      el("span", { class: "date" }, label(d.start)),
      el("ul", {}, on.map((s) => {
        const a = Math.max(new Date(s.start), d.start);
        const b = Math.min(new Date(s.end), d.end);
        return el("li", { class: s.override ? "override" : "" }, `${clockTime(a)}–${b === d.end ? "24:00" : clockTime(b)} `,
          el("strong", {}, name(s.person_id)), s.override ? el("span", { class: "badge" }, tr("override")) : "");
      })));
  }));
}

function swapList(items, result) {
  if (!items.length) return el("p", { class: "muted" }, tr("No swaps asked by or of you."));
  return el("ul", { "aria-label": tr("Swaps") }, items.map((s) => el("li", {},
    `${s.from.name} → ${s.to.name}: ${when(s.start)} – ${when(s.end)} (${SWAP[s.status] || s.status})`,
    s.status === "asked" && s.to.id === state.me.id ? el("button", { type: "button", onclick: async () => {
      try { await api("POST", `/rota/swaps/${s.id}/accept`); await rota(); say("result", tr("Swap accepted: you hold the phone then."), "ok"); }
      catch (e) { say(result, e.message, "error"); } } }, tr("Accept the swap from {name}", { name: s.from.name })) : "")));
}
const SWAP = { asked: tr("asked"), accepted: tr("accepted") };

function swapForm(people, result) {
  const who = el("select", { id: "swap-with" }, people.filter((p) => p.id !== state.me.id)
    .map((p) => el("option", { value: p.id }, p.name)));
  const start = el("input", { id: "swap-start", type: "datetime-local", required: true });
  const end = el("input", { id: "swap-end", type: "datetime-local", required: true });
  const form = el("form", { id: "swap-form" },
    el("p", { class: "muted" }, tr("Ask a colleague to hold the phone for part of your shift; it counts once they accept.")),
    el("div", { class: "field" }, el("label", { for: "swap-with" }, tr("Colleague")), who),
    el("div", { class: "field" }, el("label", { for: "swap-start" }, tr("From ({zone})", { zone: zoneName() })), start),
    el("div", { class: "field" }, el("label", { for: "swap-end" }, tr("Until ({zone})", { zone: zoneName() })), end),
    el("button", { type: "submit" }, tr("Ask to swap")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/rota/swaps", { person_id: who.value, start: new Date(start.value).toISOString(),
        end: new Date(end.value).toISOString() });
      await rota();
      say("result", tr("Asked: they accept by SMS or here; until then nothing changes."), "ok");
    } catch (e) { say(result, e.message, "error"); }
  });
  return form;
}

function zoneName() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

// --- admin pages ---------------------------------------------------------------------------

function table(caption, header, rows) {
  return el("table", {}, el("caption", {}, caption),
    el("thead", {}, el("tr", {}, header.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { "data-label": header[i] }, c))))));
}

async function people() {
  const data = await api("GET", "/people");
  // Language: what their phone says to them (pages, notices, command replies); PATCH /people/{id} sets it.
  page(tr("People"), table(tr("The team"), [tr("Name"), tr("Role"), tr("Tier"), tr("Phone"), tr("Zone"), tr("Language")],
    data.items.map((p) => [p.name, p.role, String(p.tier), p.phone || "", p.timezone, p.language || ""])));
}

async function templatesPage() {
  const month = new Date(now()).toISOString().slice(0, 7);
  const [data, report] = await Promise.all([api("GET", "/templates"),
    api("GET", `/reports/monthly?month=${month}`).catch(() => ({ templates: [] }))]);
  const stats = Object.fromEntries((report.templates || []).map((s) => [s.template_id, s]));
  const pct = (v) => (v === null || v === undefined ? "-" : `${Math.round(v * 100)} %`);
  page(tr("Templates"), table(tr("Templates and how they do this month"),
    [tr("Name"), tr("Answers automatically"), tr("Uses"), tr("Satisfaction"), tr("Body")],
    data.items.map((t) => [`/${t.name}`, t.auto ? tr("yes") : tr("no"), String((stats[t.id] || {}).uses || 0),
      pct((stats[t.id] || {}).satisfaction), t.body])));
}

async function status() {
  const data = await api("GET", "/status");
  const rows = Object.entries(data).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]);
  page(tr("Status"), el("p", { class: data.ok ? "note ok" : "note error" },
    data.ok ? tr("The engine is healthy.") : tr("Something needs attention.")),
  table(tr("The engine"), [tr("What"), tr("Value")], rows));
  every(10000, status);
}

async function report() {
  const month = new Date(now()).toISOString().slice(0, 7);
  const data = await api("GET", `/reports/monthly?month=${month}`);
  const o = data.overall || {};
  // The same figures as GET /reports/monthly, each explained in one line (issue 34).
  page(tr("Report {month}", { month: data.month }), el("ul", {},
    el("li", {}, tr("Resolved: {count} tickets resolved this month and still resolved ({total} resolved at some point)",
      { count: o.resolved, total: o.resolved_this_month })),
    el("li", {}, tr("Repeat contacts: {count} of {total} resolved tickets came back (a new message or a survey NO; a thank-you does not count)",
      { count: o.repeat_contacts, total: o.resolved_this_month })),
    el("li", {}, tr("First-contact resolution: {count} of {total} tickets opened and resolved this month needed one message and were never reopened",
      { count: o.first_contact_resolved, total: o.first_contact_tickets })),
    el("li", {}, tr("Tier breaches: {count}", { count: o.tier_breaches }))),
  el("h2", {}, tr("People")),
  el("ul", { class: "people-report" }, (data.people || []).map((p) => el("li", {},
    tr("{name}: resolved {resolved}, passed up {passed}, on call {hours} h, pages {pages}",
      { name: p.name || p.person_id, resolved: p.resolved, passed: p.passed_up, hours: p.hours_held, pages: p.pages_received })))),
  el("p", {}, el("a", { href: data.html_url }, tr("Open the whole report"))));
}

// --- keys and start ----------------------------------------------------------------------

function keys(ev) {
  if (ev.target.closest("input, textarea, select") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === "?") { const box = $("keys"); box.hidden = !box.hidden; if (!box.hidden) $("keys-close").focus(); return; }
  if (ev.key === "Escape") { $("keys").hidden = true; return; }
  const rows = Array.from(document.querySelectorAll("#tickets a"));
  if ((ev.key === "j" || ev.key === "k") && rows.length) {
    const at = rows.indexOf(document.activeElement);
    const next = ev.key === "j" ? Math.min(rows.length - 1, at + 1) : Math.max(0, at - 1);
    rows[at === -1 ? 0 : next].focus();
    ev.preventDefault();
  }
  if (ev.key === "r" && $("reply")) { $("reply").focus(); ev.preventDefault(); }
  if (ev.key === "e" && $("resolve")) { $("resolve").click(); ev.preventDefault(); }
}

// The shell's own words (console.html marks them data-t): in the reader's language before anything else.
function translateShell() {
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = tr(node.textContent.trim());
  for (const node of document.querySelectorAll("[data-t-label]")) node.setAttribute("aria-label", tr(node.getAttribute("aria-label")));
}

async function start() {
  translateShell();
  document.addEventListener("keydown", keys);
  $("keys-close").addEventListener("click", () => { $("keys").hidden = true; });
  try {
    const session = await api("GET", "/auth/session");
    state.me = session.person;
    state.csrf = session.csrf;
    if (session.now) state.skew = new Date(session.now) - Date.now();
  } catch (e) {
    showSignIn();
    return;
  }
  showNav();
  const ticketMatch = ROUTE.match(/^\/tickets\/(\d+)$/);
  const pages = { "/": inbox, "/rota": rota, "/people": people, "/templates": templatesPage, "/status": status,
    "/report": report };
  const listAndDetail = WIDE.matches && (ticketMatch || !pages[ROUTE] || ROUTE === "/");
  if (listAndDetail) {
    split();
    window.addEventListener("popstate", () => {
      const m = location.pathname.match(/\/tickets\/(\d+)$/);
      if (m) openTicket(m[1]); else location.reload();
    });
  }
  try {
    if (listAndDetail) { await inbox(); if (ticketMatch) await openTicket(ticketMatch[1]); }
    else if (ticketMatch) await ticket(ticketMatch[1]);
    else await (pages[ROUTE] || inbox)();
  } catch (e) {
    if (e.status !== 401) page(tr("Something went wrong"), el("p", { role: "alert" }, e.message));
  }
}

start();
