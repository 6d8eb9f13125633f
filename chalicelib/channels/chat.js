(function () {
  "use strict";
  var KEY = "fridaynight.chat";
  var state = JSON.parse(localStorage.getItem(KEY) || "null");
  var seen = {};
  var delay = 1000, timer = null, MAX_DELAY = 15000;
  var $ = function (id) { return document.getElementById(id); };
  // The page's words in its language (from the catalogue, handed over by the page: no inline script).
  var WORDS = JSON.parse(document.querySelector("main").getAttribute("data-words") || "{}");

  function save() { localStorage.setItem(KEY, JSON.stringify(state)); }

  // Every URL from where this page was served: behind a stage path (".../api/chat") or a proxy,
  // "/chat/sessions" means ".../api/chat/sessions".
  var BASE = location.pathname.replace(/\/chat\/?$/, "");

  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state && state.token) headers.Authorization = "Bearer " + state.token;
    return fetch(BASE + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (!r.ok) { var e = new Error((data.error && data.error.message) || ("HTTP " + r.status)); e.status = r.status; throw e; }
          return data;
        });
      });
  }

  function bubble(m) {
    var li = document.createElement("li");
    li.className = m.author;
    if (m.author === "agent") {
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = m.author_name || WORDS.support;
      li.appendChild(who);
    }
    li.appendChild(document.createTextNode(m.text));
    return li;
  }

  function add(m) {
    if (seen[m.id]) return;
    seen[m.id] = true;
    var mine = m.author === "customer" && document.querySelector('li[data-text="' + CSS.escape(m.text) + '"].pending');
    if (mine) { mine.classList.remove("pending"); mine.removeAttribute("data-text"); return; }
    $("log").appendChild(bubble(m));
    window.scrollTo(0, document.body.scrollHeight);
  }

  function showSurvey(survey) {
    if (survey !== "asked1" || $("survey")) return;
    var li = document.createElement("li");
    li.className = "system";
    li.id = "survey";
    li.appendChild(document.createTextNode(WORDS.survey));
    var row = document.createElement("div");
    row.className = "survey";
    ["YES", "NO"].forEach(function (answer) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = answer === "YES" ? WORDS.yes : WORDS.no;
      b.className = answer === "YES" ? "" : "secondary";
      b.addEventListener("click", function () { sendText(answer); li.remove(); });
      row.appendChild(b);
    });
    li.appendChild(row);
    $("log").appendChild(li);
  }

  function poll() {
    clearTimeout(timer);
    var path = "/chat/sessions/" + encodeURIComponent(state.session_id) + "/messages" +
      (state.cursor ? "?after=" + encodeURIComponent(state.cursor) : "");
    api("GET", path).then(function (data) {
      data.messages.forEach(add);
      if (data.cursor) { state.cursor = data.cursor; save(); }
      showSurvey(data.ticket && data.ticket.survey);
      if (data.ticket && data.ticket.expectation) $("status").textContent = data.ticket.expectation;
      delay = data.messages.length ? 1000 : Math.min(MAX_DELAY, delay * 1.5);
    }).catch(function (e) {
      if (e.status === 404 || e.status === 401) { localStorage.removeItem(KEY); location.reload(); return; }
      delay = Math.min(MAX_DELAY, delay * 2);
    }).then(function () { timer = setTimeout(poll, delay); });
  }

  function showChat() {
    $("start").hidden = true;
    $("chat").hidden = false;
    $("status").textContent = state.expectation || ("This is ticket #" + state.ticket_id + ".");
    state.cursor = null;  // replay the whole conversation after a reload
    $("text").focus();
    poll();
  }

  function sendText(text, li) {
    if (!li) {
      li = bubble({ author: "customer", text: text });
      li.classList.add("pending");
      li.setAttribute("data-text", text);
      $("log").appendChild(li);
    }
    return api("POST", "/chat/sessions/" + encodeURIComponent(state.session_id) + "/messages", { text: text })
      .then(function () { delay = 1000; poll(); })
      .catch(function (e) {
        li.classList.remove("pending");
        li.classList.add("failed");
        li.removeAttribute("data-text");
        var retry = document.createElement("button");
        retry.type = "button";
        retry.className = "secondary";
        retry.textContent = WORDS.retry;
        retry.setAttribute("aria-label", WORDS.not_sent.replace("{error}", e.message));
        retry.addEventListener("click", function () {
          retry.remove();
          li.classList.remove("failed");
          li.classList.add("pending");
          li.setAttribute("data-text", text);
          sendText(text, li);
        });
        li.appendChild(document.createElement("br"));
        li.appendChild(retry);
        retry.focus();
      });
  }

  // Another language: the same page in it (the choice goes with the chat when it starts).
  $("language").addEventListener("change", function () {
    location.search = "?lang=" + encodeURIComponent($("language").value);
  });

  $("start").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = { name: $("name").value.trim() };
    try { var zone = Intl.DateTimeFormat().resolvedOptions().timeZone; if (zone) body.timezone = zone; } catch (e) { /* no zone: the business zone, named */ }
    body.language = $("language").value;  // the page's: the browser's, or what the customer chose
    if ($("contact").value.trim()) body.contact = $("contact").value.trim();
    $("start-error").textContent = "";
    api("POST", "/chat/sessions", body).then(function (data) {
      state = data;
      save();
      showChat();
    }).catch(function (e) { $("start-error").textContent = e.message; });
  });

  $("send").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    sendText(text);
  });
  $("text").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("send").requestSubmit(); }
  });

  if (state && state.session_id) { showChat(); } else { $("name").focus(); }
})();
