/* Testigo's staff pages (the Django admin): no lost edits, the edit lock released when a
   moderator leaves a report, and keyboard shortcuts. Loaded on every admin page from our
   own origin (the content security policy allows no inline script); each part acts only
   where its markup is.

   - A report's page (#testigo-page) is one form. Leaving it with unsaved changes asks
     first (beforeunload); a page shown again after a refusal starts out unsaved.
   - data-unlock-url: on pagehide, a beacon releases the lock taken when the page was
     shown (data-lock-until), unless the page is being left by posting its form.
   - data-key="x" on a button clicks it on the key x; on a field, focuses it. */
(function () {
  "use strict";

  var page = document.getElementById("testigo-page");
  var form = page ? page.closest("form") : null;
  var posting = false;

  function snapshot(f) {
    var parts = [];
    new FormData(f).forEach(function (value, name) {
      if (typeof value === "string" && name !== "csrfmiddlewaretoken") {
        parts.push(name + "=" + value.replace(/\r\n/g, "\n"));
      }
    });
    return parts.join("&");
  }

  if (form) {
    var initial = snapshot(form);
    var startsUnsaved = page.hasAttribute("data-unsaved");
    form.addEventListener("submit", function () {
      posting = true;
      // If the post does not leave the page (a download), watch again shortly after.
      window.setTimeout(function () { posting = false; }, 4000);
    });
    window.addEventListener("beforeunload", function (event) {
      if (posting) return;
      if (startsUnsaved || snapshot(form) !== initial) {
        event.preventDefault();
        event.returnValue = "You have unsaved changes.";
        return "You have unsaved changes.";
      }
    });
  }

  if (page && page.dataset.unlockUrl && navigator.sendBeacon) {
    window.addEventListener("pagehide", function () {
      if (posting) return;
      var data = new FormData();
      var token = form ? form.querySelector('input[name="csrfmiddlewaretoken"]') : null;
      if (token) data.append("csrfmiddlewaretoken", token.value);
      data.append("until", page.dataset.lockUntil || "");
      navigator.sendBeacon(page.dataset.unlockUrl, data);
    });
  }

  // --- Keyboard shortcuts ------------------------------------------------------------

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function act(element) {
    if (element.tagName === "BUTTON" || element.tagName === "A") {
      element.click();
    } else {
      element.focus();
      if (element.tagName === "TEXTAREA" && element.setSelectionRange) {
        element.setSelectionRange(0, 0);
      }
    }
  }

  var rows = Array.prototype.slice.call(document.querySelectorAll("#result_list tbody tr"));
  var current = -1;

  function choose(index) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("testigo-current");
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].classList.add("testigo-current");
    rows[current].scrollIntoView({ block: "nearest" });
  }

  function openRow() {
    if (current < 0) return;
    var link = rows[current].querySelector("th a, td a");
    if (link) link.click();
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Escape" && typing(target)) {
      target.blur();
      return;
    }
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && target.dataset && target.dataset.key === "e") {
      var approve = document.querySelector('[data-key="a"]');
      if (approve) {
        event.preventDefault();
        approve.click();
      }
      return;
    }
    if (typing(target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "?") {
      var help = document.getElementById("shortcuts");
      if (help) help.open = !help.open;
      return;
    }
    if (rows.length && (event.key === "j" || event.key === "k")) {
      choose(current + (event.key === "j" ? 1 : -1));
      return;
    }
    if (rows.length && (event.key === "o" || event.key === "Enter") && current >= 0) {
      openRow();
      return;
    }
    if (event.key === "/") {
      var search = document.getElementById("searchbar");
      if (search) {
        event.preventDefault();
        search.focus();
      }
      return;
    }
    var element = document.querySelector('[data-key="' + event.key + '"]');
    if (element) {
      event.preventDefault();
      act(element);
    }
  });
})();
