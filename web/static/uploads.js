/* Progressive enhancement for forms with file inputs. Without it everything still works: the server
   checks type and size and re-renders the form with the error. With it:
   1. a chosen file that is too large or of a type the field does not accept is reported next to the
      field at once (the server still checks, by content);
   2. a multipart form shows how much of the upload has gone (a <progress> bar), which matters on a
      slow phone connection with a scanned PDF of several MB.
   No inline script anywhere (the CSP allows scripts from 'self' only). */
(function () {
  "use strict";

  var TEXT = {
    vi: {
      tooLarge: "Tệp quá lớn: tối đa ",
      wrongType: "Loại tệp không được chấp nhận. Chọn tệp ",
      sending: "Đang tải lên… ",
      failed: "Không tải lên được, đang gửi lại theo cách thông thường."
    },
    en: {
      tooLarge: "The file is too large: at most ",
      wrongType: "This type of file is not accepted. Choose a file of type ",
      sending: "Uploading… ",
      failed: "The upload failed; sending the form the ordinary way."
    }
  };
  var text = TEXT[(document.documentElement.lang || "vi").slice(0, 2)] || TEXT.vi;

  function megabytes(bytes) {
    return (bytes / (1024 * 1024)).toFixed(bytes < 1024 * 1024 ? 2 : 0) + " MB";
  }

  function accepted(input, file) {
    var accept = (input.getAttribute("accept") || "").split(",").map(function (s) { return s.trim().toLowerCase(); })
      .filter(Boolean);
    if (!accept.length) { return true; }
    var name = file.name.toLowerCase(), type = (file.type || "").toLowerCase();
    return accept.some(function (rule) {
      if (rule.charAt(0) === ".") { return name.slice(-rule.length) === rule; }
      if (rule.slice(-2) === "/*") { return type.indexOf(rule.slice(0, -1)) === 0; }
      return type === rule;
    });
  }

  function note(input) {
    var id = input.id + "-client-error", el = document.getElementById(id);
    if (!el) {
      el = document.createElement("p");
      el.id = id;
      el.className = "field-error";
      el.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", el);
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      described.push(id);
      input.setAttribute("aria-describedby", described.join(" "));
    }
    return el;
  }

  function check(input) {
    var file = input.files && input.files[0], message = "";
    if (file) {
      var max = parseInt(input.getAttribute("data-max-size") || "0", 10);
      if (max && file.size > max) {
        message = text.tooLarge + megabytes(max) + " (" + megabytes(file.size) + ").";
      } else if (!accepted(input, file)) {
        message = text.wrongType + input.getAttribute("accept") + ".";
      }
    }
    note(input).textContent = message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
    return !message;
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "file") { check(input); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.enctype !== "multipart/form-data") { return; }
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[type=file]"));
    var chosen = inputs.filter(function (input) { return input.files && input.files.length; });
    var submitter = event.submitter;
    var skipChecks = submitter && submitter.hasAttribute("formnovalidate");
    if (!skipChecks && !chosen.every(check)) {
      event.preventDefault();
      chosen.filter(function (input) { return input.getAttribute("aria-invalid") === "true"; })[0].focus();
      return;
    }
    if (!chosen.length || !window.XMLHttpRequest || !window.FormData) { return; }
    event.preventDefault();
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var status = document.createElement("div");
    status.className = "upload-progress";
    status.setAttribute("role", "status");
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    var label = document.createElement("span");
    label.textContent = text.sending;
    status.appendChild(label);
    status.appendChild(bar);
    form.appendChild(status);
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });

    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round(100 * e.loaded / e.total);
        label.textContent = text.sending + bar.value + "% ";
      }
    });
    xhr.addEventListener("load", function () {
      // Show what the server answered (the next page after a redirect, or the form again with its
      // messages) without asking for it a second time: a one-time message would be lost.
      var url = xhr.responseURL;
      document.open();
      document.write(xhr.responseText);
      document.close();
      if (url && url !== window.location.href) { window.history.replaceState(null, "", url); }
    });
    xhr.addEventListener("error", function () {
      label.textContent = text.failed;
      if (submitter && submitter.name) {  // keep which button was pressed (next, save, submit)
        var pressed = document.createElement("input");
        pressed.type = "hidden";
        pressed.name = submitter.name;
        pressed.value = submitter.value;
        form.appendChild(pressed);
      }
      HTMLFormElement.prototype.submit.call(form);
    });
    xhr.send(data);
  });
})();
