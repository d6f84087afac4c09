// Report a concern: a concern is about one customer or one property, and each kind of concern is
// about one of them (its option's data-on: "person" or "property"). Choosing a customer clears the
// property chosen (and the other way round) and offers only the kinds that fit; a kind already
// chosen that no longer fits is cleared. Without JavaScript every kind shows, grouped, and the
// server refuses a mismatch naming the field.
(function () {
  var form = document.getElementById("report-form");
  var select = document.getElementById("category");
  if (!form || !select) { return; }
  function radios(name) { return form.querySelectorAll("input[type=radio][name=" + name + "]"); }
  function chosen(name) { return form.querySelector("input[type=radio][name=" + name + "]:checked"); }
  function offer(on) {
    Array.prototype.forEach.call(select.querySelectorAll("option[data-on]"), function (option) {
      var fits = !on || option.getAttribute("data-on") === on;
      option.disabled = !fits;
      option.hidden = !fits;
      if (!fits && option.selected) { select.value = ""; }
    });
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
  }
  function update(changed) {
    var other = changed === "customer" ? "property" : "customer";
    if (changed && chosen(changed)) {
      Array.prototype.forEach.call(radios(other), function (r) { r.checked = false; });
    }
    offer(chosen("customer") ? "person" : chosen("property") ? "property" : null);
  }
  ["customer", "property"].forEach(function (name) {
    Array.prototype.forEach.call(radios(name), function (r) {
      r.addEventListener("change", function () { update(name); });
    });
  });
  update(null);
})();
