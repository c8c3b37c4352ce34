// Parts of a page marked data-live="URL" are replaced by what the server pushes (server-sent events).
document.querySelectorAll("[data-live]").forEach(function (el) {
  var source = new EventSource(el.dataset.live);
  source.onmessage = function (event) {
    el.innerHTML = JSON.parse(event.data).html;
    el.dataset.updates = String(Number(el.dataset.updates || "0") + 1);
    if (el.dataset.scroll !== undefined) { el.scrollTop = el.scrollHeight; }
  };
  // Too many live pages open in this session (the oldest are closed), or logged out:
  // stop reconnecting; reloading the page resumes it.
  source.addEventListener("closed", function () {
    source.close();
    el.dataset.closed = "1";
  });
});
document.querySelectorAll("[data-scroll]").forEach(function (el) { el.scrollTop = el.scrollHeight; });
