/* Friday Night chat widget: <script src="https://<api>/widget.js" async></script> on any page adds
   a launcher button that opens our chat page in an iframe from our own origin (so the API needs
   no CORS and the customer's session stays ours). Sized for phones. */
(function () {
  "use strict";
  if (window.__fridayNightWidget) return;
  window.__fridayNightWidget = true;
  var script = document.currentScript || (function () {
    var all = document.getElementsByTagName("script");
    for (var i = all.length - 1; i >= 0; i--) if (/\/widget\.js(\?|#|$)/.test(all[i].src)) return all[i];
    return null;
  })();
  if (!script) return;
  var base = script.src.replace(/\/widget\.js([?#].*)?$/, "");
  // Its words in the visitor's language (the app fills them in from the catalogue when it serves this).
  var WORDS = {"lang": "{{lang}}", "open": {{open}}, "close": {{close}}, "title": {{title}}};
  var frame = null, open = false;
  var button = document.createElement("button");
  button.type = "button";
  button.id = "friday-night-launcher";
  button.textContent = WORDS.open;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("style", "position:fixed;right:16px;bottom:16px;z-index:2147483000;padding:12px 18px;" +
    "border:0;border-radius:999px;background:#1f5fbf;color:#fff;font:600 16px/1.2 system-ui,sans-serif;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer");
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = base + "/chat?lang=" + encodeURIComponent(WORDS.lang);
      frame.title = WORDS.title;
      frame.id = "friday-night-chat";
      frame.setAttribute("style", "position:fixed;right:16px;bottom:72px;z-index:2147483000;border:0;" +
        "width:min(380px,calc(100vw - 32px));height:min(600px,calc(100vh - 96px));border-radius:12px;" +
        "background:#fff;box-shadow:0 8px 30px rgba(0,0,0,.3)");
      document.body.appendChild(frame);
    }
    open = !open;
    frame.style.display = open ? "block" : "none";
    button.textContent = open ? WORDS.close : WORDS.open;
    button.setAttribute("aria-expanded", String(open));
  });
  function mount() { document.body.appendChild(button); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
