// A step's answers are kept as a draft on the server while the person types (a second after they
// stop), so closing the tab or a session that ends loses nothing; and a warning shows two minutes
// before an idle session would end, with a button to stay signed in. Without JavaScript the form
// works as before; the server still keeps the answers of a form sent after the session ended.
(function () {
  var form = document.getElementById("task-form");
  if (!form || !form.dataset.draftUrl) { return; }
  var status = document.getElementById("draft-status");
  var token = form.querySelector("input[name=csrf_token]").value;
  var pending = null;
  var sessionSeconds = Number(form.dataset.sessionSeconds || 0);
  var warnTimer = null;
  var warning = document.getElementById("session-warning");

  function answers() {
    var data = new FormData(form);
    data.delete("csrf_token");
    return data;
  }

  function save() {
    pending = null;
    fetch(form.dataset.draftUrl, {method: "POST", body: answers(), credentials: "same-origin",
                                  headers: {"X-CSRFToken": token}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (body) { status.textContent = body.saved; activity(); })
      .catch(function () { status.textContent = "Your draft could not be saved just now; your answers are still on this page."; });
  }

  function typed() {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(save, 1000);
  }

  // the session lives sessionSeconds after the last request: warn two minutes before it ends
  function activity() {
    if (!sessionSeconds || !warning) { return; }
    if (warnTimer) { clearTimeout(warnTimer); }
    warning.hidden = true;
    warnTimer = setTimeout(function () { warning.hidden = false; }, Math.max(sessionSeconds - 120, 1) * 1000);
  }

  var stay = document.getElementById("stay-signed-in");
  if (stay) {
    stay.addEventListener("click", function () { save(); });
  }
  form.addEventListener("input", typed);
  form.addEventListener("change", typed);
  activity();
})();
