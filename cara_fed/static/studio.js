/* The studio's progressive enhancement. Every form works without this file; with it:
   - forms marked data-upload are sent with XMLHttpRequest so that upload progress can be shown
     (xhr.upload "progress" events); the answer replaces the page's studio part (a form with errors) or
     the browser goes where the server sent it (a saved work);
   - "More image rows" adds a row on the page instead of reloading it, and chosen images are previewed;
   - lists marked data-order can be reordered by drag and drop, which rewrites their position numbers
     (the arrow buttons and the numbers stay for keyboards and screen readers). */
(function () {
  "use strict";

  function renumber(row, index) {
    row.dataset.index = String(index);
    row.querySelectorAll("[id],[for],[aria-describedby]").forEach(function (el) {
      ["id", "for", "aria-describedby"].forEach(function (name) {
        var value = el.getAttribute(name);
        if (value) el.setAttribute(name, value.replace(/(files|alt)_\d+/g, "$1_" + index));
      });
    });
    row.querySelectorAll("label").forEach(function (label) {
      label.textContent = label.textContent.replace(/\d+/, String(index + 1 + offsetOf(row)));
    });
  }

  function offsetOf(row) {
    var rows = row.closest(".image-rows");
    return rows ? Number(rows.dataset.offset || 0) : 0;
  }

  function addRow(container) {
    var rows = container.querySelectorAll(".new-image");
    var max = Number(container.dataset.max || 20);
    if (!rows.length || rows.length >= max) return null;
    var copy = rows[rows.length - 1].cloneNode(true);
    copy.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    copy.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    copy.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    copy.querySelectorAll("input[type=file]").forEach(function (el) { el.value = ""; });
    copy.querySelectorAll("textarea").forEach(function (el) { el.value = ""; });
    copy.querySelector(".preview").textContent = "";
    renumber(copy, rows.length);
    container.appendChild(copy);
    return copy;
  }

  function preview(input) {
    var box = input.closest(".new-image") && input.closest(".new-image").querySelector(".preview");
    if (!box) return;
    box.textContent = "";
    if (input.files && input.files[0] && window.URL) {
      var img = document.createElement("img");
      img.alt = "";
      img.src = URL.createObjectURL(input.files[0]);
      box.appendChild(img);
    }
  }

  function sendWithProgress(form, event) {
    if (!window.XMLHttpRequest || !window.FormData) return;
    event.preventDefault();
    var box = form.querySelector(".progress");
    var bar = box && box.querySelector("progress");
    var text = box && box.querySelector(".progress-text");
    var buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach(function (b) { b.disabled = true; });
    if (box) box.hidden = false;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable || !bar) return;
      var percent = Math.round((e.loaded / e.total) * 100);
      bar.value = percent;
      text.textContent = percent < 100 ? percent + " %" : "Processing the images…";
    });
    xhr.addEventListener("load", function () {
      var target = xhr.responseURL;
      if (xhr.status >= 200 && xhr.status < 300 && target && target.split("#")[0] !== form.action) {
        window.location.assign(target);
        return;
      }
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var fresh = doc.querySelector(".studio");
      var current = document.querySelector(".studio");
      if (fresh && current) {
        current.replaceWith(fresh);
        document.title = doc.title;
        setUp(fresh);
        var errors = fresh.querySelector("#form-errors, .form-error");
        if (errors) { errors.setAttribute("tabindex", "-1"); errors.focus(); }
      } else {
        document.open(); document.write(xhr.responseText); document.close();
      }
    });
    xhr.addEventListener("error", function () {
      buttons.forEach(function (b) { b.disabled = false; });
      if (text) text.textContent = "The upload failed (network). Please try again.";
    });
    xhr.send(new FormData(form));
  }

  function setUpOrder(list) {
    var dragged = null;
    list.addEventListener("dragstart", function (e) {
      dragged = e.target.closest("li");
      if (!dragged) return;
      dragged.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", dragged.dataset.id || "");
    });
    list.addEventListener("dragover", function (e) {
      if (!dragged) return;
      e.preventDefault();
      var over = e.target.closest("li");
      if (!over || over === dragged || over.parentNode !== list) return;
      var box = over.getBoundingClientRect();
      list.insertBefore(dragged, e.clientY > box.top + box.height / 2 ? over.nextSibling : over);
    });
    function done() {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      dragged = null;
      list.querySelectorAll("li input.position").forEach(function (input, i) { input.value = String(i + 1); });
    }
    list.addEventListener("drop", function (e) { e.preventDefault(); done(); });
    list.addEventListener("dragend", done);
  }

  function setUp(root) {
    root.querySelectorAll("form[data-upload]").forEach(function (form) {
      form.addEventListener("submit", function (event) { sendWithProgress(form, event); });
      form.addEventListener("change", function (event) {
        if (event.target.matches("input[type=file]")) preview(event.target);
      });
      var more = form.querySelector("[data-more-rows]");
      var container = form.querySelector(".image-rows");
      if (more && container) {
        more.addEventListener("click", function (event) {
          event.preventDefault();
          var row = addRow(container);
          if (row) row.querySelector("input[type=file]").focus();
        });
      }
    });
    root.querySelectorAll("form[data-order] ol.order").forEach(setUpOrder);
  }

  setUp(document);
})();
