/* Keyboard shortcuts and the few behaviours the workspace needs that HTML alone cannot do.
 *
 * No inline script anywhere (the Content-Security-Policy forbids it): pages declare what a key
 * does with data attributes, and this file reads them.
 *
 *   data-key="n"            the element a key acts on: a button is clicked, a radio checked,
 *                           a text field focused
 *   data-open-dialog="id"   a button that opens the <dialog> with that id (showModal)
 *   data-list-item          items that j / k move through, in page order
 *   data-suggestion         a similar-account item; a / d press its [data-action="accept"|"dismiss"]
 *   data-ctrl-enter         the submit button Ctrl+Enter presses in its form
 *   data-expires="<iso>"    a lease's end: its text counts down
 *   data-no-enter           a field where Enter must not submit the form (the technique search)
 *
 * Single-letter keys never fire while the user types in a field; Escape leaves the field.
 */
(function () {
  "use strict";

  var NOT_TYPING = ["checkbox", "radio", "button", "submit", "reset", "file", "range", "color"];

  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") return NOT_TYPING.indexOf((el.type || "text").toLowerCase()) === -1;
    return false;
  }

  function openDialog() {
    return document.querySelector("dialog[open]");
  }

  function visible(el) {
    return !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  }

  // Where keys may act: inside the open modal dialog if there is one, else the page.
  function scope() {
    return openDialog() || document;
  }

  function keyTarget(key) {
    var found = scope().querySelectorAll('[data-key="' + key + '"]');
    for (var i = 0; i < found.length; i++) {
      if (visible(found[i]) && !found[i].disabled) return found[i];
    }
    return null;
  }

  function act(el) {
    if (el.tagName === "INPUT" && isTyping(el)) {
      el.focus();
      if (el.select) el.select();
    } else {
      el.click();
      if (el.type === "radio") el.focus();
    }
  }

  function showDialog(id) {
    var dialog = document.getElementById(id);
    if (!dialog || dialog.open) return;
    dialog.showModal();
    var first = dialog.querySelector("input:not([type=hidden]):checked, input:not([type=hidden]), textarea, select, button");
    if (first) first.focus();
  }

  function toggleHelp() {
    var help = document.getElementById("keys-help");
    if (!help) return;
    if (help.open) help.close();
    else if (!openDialog()) showDialog("keys-help");
  }

  function listItems() {
    return Array.prototype.filter.call(scope().querySelectorAll("[data-list-item]"), visible);
  }

  function move(step) {
    var items = listItems();
    if (!items.length) return;
    var current = document.activeElement && document.activeElement.closest("[data-list-item]");
    var index = items.indexOf(current);
    var next = index === -1 ? (step > 0 ? 0 : items.length - 1) : Math.min(Math.max(index + step, 0), items.length - 1);
    focusItem(items[next]);
  }

  function focusItem(item) {
    var old = document.querySelectorAll("[data-list-item].is-current");
    for (var i = 0; i < old.length; i++) old[i].classList.remove("is-current");
    if (!item.hasAttribute("tabindex")) item.setAttribute("tabindex", "-1");
    item.classList.add("is-current");
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }

  function suggestionAction(action) {
    var item = document.activeElement && document.activeElement.closest("[data-suggestion]");
    if (!item) {
      // Nothing focused yet: the first press picks the first suggestion, the next acts on it.
      var first = document.querySelector("[data-suggestion]");
      if (first) focusItem(first);
      return;
    }
    var button = item.querySelector('[data-action="' + action + '"]');
    if (button) button.click();
  }

  function submitWithCtrlEnter() {
    var active = document.activeElement;
    var form = active && active.closest ? active.closest("form") : null;
    if (!form || !form.querySelector("[data-ctrl-enter]")) {
      var button = scope().querySelector("[data-ctrl-enter]");
      form = button ? button.form : null;
    }
    if (!form) return;
    var submitter = form.querySelector("[data-ctrl-enter]");
    if (form.requestSubmit) form.requestSubmit(submitter || undefined);
    else if (submitter) submitter.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    var target = event.target;

    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submitWithCtrlEnter();
      return;
    }
    if (event.key === "Enter" && target.hasAttribute && target.hasAttribute("data-no-enter")) {
      event.preventDefault(); // searching techniques must not submit the label
      return;
    }
    if (isTyping(target)) {
      if (event.key === "Escape" && !openDialog()) target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;

    var key = event.key;
    if (key === "?") {
      event.preventDefault();
      toggleHelp();
      return;
    }
    if (key === "j" || key === "k") {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
      return;
    }
    if (key === "a" || key === "d") {
      if (openDialog()) return;
      event.preventDefault();
      suggestionAction(key === "a" ? "accept" : "dismiss");
      return;
    }
    if (["n", "e", "t", "1", "2", "3"].indexOf(key) !== -1) {
      var el = keyTarget(key);
      if (!el) return;
      event.preventDefault();
      act(el);
    }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-open-dialog]");
    if (!opener) return;
    event.preventDefault();
    showDialog(opener.getAttribute("data-open-dialog"));
  });

  // After a suggestion is accepted or dismissed (htmx swaps its row), go to the next open one.
  document.addEventListener("htmx:afterSettle", function (event) {
    var row = event.detail && event.detail.elt;
    if (!row || !row.matches || !row.matches("[data-suggestion]")) return;
    // Only when focus went with the swapped row: a user who already moved on (j, a click, a
    // field) keeps their place.
    var active = document.activeElement;
    if (active && active !== document.body && !row.contains(active)) return;
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-suggestion]"));
    var index = rows.indexOf(row);
    for (var i = index + 1; i < rows.length; i++) {
      if (rows[i].querySelector("[data-action]")) return focusItem(rows[i]);
    }
    focusItem(row);
  });

  // Leases count down without a reload.
  function tick() {
    var now = Date.now();
    var items = document.querySelectorAll("[data-expires]");
    for (var i = 0; i < items.length; i++) {
      var left = Math.round((Date.parse(items[i].getAttribute("data-expires")) - now) / 1000);
      var text;
      if (isNaN(left)) continue;
      if (left <= 0) {
        text = "expired";
        items[i].classList.add("is-expired");
      } else if (left < 60) text = left + " s left";
      else if (left < 3600) text = Math.floor(left / 60) + " min left";
      else text = Math.floor(left / 3600) + " h " + String(Math.floor((left % 3600) / 60)).padStart(2, "0") + " min left";
      items[i].textContent = text;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 15000);
  });
})();
