// Case queue: "select all" for the bulk actions and a count of what is selected.
// No inline script is allowed (CSP), so this file wires the checkboxes by data attributes.
(function () {
  "use strict";

  function init() {
    var form = document.getElementById("bulk-form");
    if (!form) return;
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-bulk-count]");
    var boxes = function () { return form.querySelectorAll('input[type="checkbox"][name="case"]'); };

    function refresh() {
      var n = 0;
      boxes().forEach(function (box) {
        var row = box.closest("tr");
        if (row) row.classList.toggle("is-selected", box.checked);
        if (box.checked) n += 1;
      });
      if (count) count.textContent = n ? n + " selected:" : "Select cases in the table, then:";
      if (all) {
        all.checked = n > 0 && n === boxes().length;
        all.indeterminate = n > 0 && n < boxes().length;
      }
    }

    if (all) {
      all.addEventListener("change", function () {
        boxes().forEach(function (box) { box.checked = all.checked; });
        refresh();
      });
    }
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "case") refresh();
    });
    refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
