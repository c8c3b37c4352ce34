// Parts of a page marked data-live="URL" are replaced by what the server pushes (server-sent events).
document.querySelectorAll("[data-live]").forEach(function (el) {
  var source = new EventSource(el.dataset.live);
  source.onmessage = function (event) {
    el.innerHTML = JSON.parse(event.data).html;
    el.dataset.updates = String(Number(el.dataset.updates || "0") + 1);
    if (el.dataset.scroll !== undefined) { el.scrollTop = el.scrollHeight; }
  };
});
document.querySelectorAll("[data-scroll]").forEach(function (el) { el.scrollTop = el.scrollHeight; });
