// The simulator's call view: "speak" reads what the call says now (its latest lines) with the
// browser's own speech synthesis, in the language each line is said in (zh-CN or en).
(function () {
  var button = document.getElementById("call-speak");
  if (!button) { return; }
  if (!("speechSynthesis" in window)) { button.disabled = true; return; }
  button.addEventListener("click", function () {
    window.speechSynthesis.cancel();
    var lines = document.querySelectorAll("#call-lines .call-line.in.latest");
    if (!lines.length) { lines = document.querySelectorAll("#call-lines .call-line.in"); }
    lines.forEach(function (line) {
      var utterance = new SpeechSynthesisUtterance(line.textContent);
      utterance.lang = line.dataset.lang || button.dataset.lang || "zh-CN";
      utterance.rate = 0.85;  // a call says it slowly
      window.speechSynthesis.speak(utterance);
    });
    button.dataset.spoken = String(lines.length);
  });
})();
