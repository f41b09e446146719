// Account outcomes: "select all on this page" and the count of ticked accounts.
(function () {
  "use strict";
  function init() {
    var form = document.getElementById("outcomes-form");
    if (!form) return;
    var all = form.querySelector("[data-check-all]");
    var count = form.querySelector("[data-selected-count]");
    function boxes() { return form.querySelectorAll('input[type="checkbox"][name="account"]'); }
    function update() {
      var n = 0;
      boxes().forEach(function (b) { if (b.checked) n += 1; });
      if (count) count.textContent = n ? n + " account" + (n === 1 ? "" : "s") + " selected." : "Tick accounts below, then set their outcome.";
      if (all) all.checked = n > 0 && n === boxes().length;
    }
    if (all) all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      update();
    });
    form.addEventListener("change", function (e) { if (e.target.name === "account") update(); });
    update();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
