// A step's form in the page: a follow-up question shows only when its `requiredWhen` applies
// (errors.js, on every page, gives the summary of answers needing attention the focus).
// The condition comes from the server as data (data-show-when, see workflows/cases/conditions.py);
// without JavaScript every question shows, and the server judges the answers either way.
(function () {
  var form = document.getElementById("task-form");
  if (!form) { return; }
  var followUps = Array.prototype.slice.call(form.querySelectorAll("[data-show-when]"));
  if (!followUps.length) { return; }

  // What a field holds now, as the server would read it: Yes/No as true/false, several options as
  // a list, nothing as null; a hidden (disabled) question holds nothing.
  function valueOf(name) {
    var inputs = Array.prototype.filter.call(form.elements, function (el) { return el.name === name && !el.disabled; });
    if (!inputs.length) { return null; }
    var first = inputs[0];
    if (first.type === "radio") {
      var checked = inputs.filter(function (el) { return el.checked; })[0];
      if (!checked) { return null; }
      return checked.value === "yes" ? true : checked.value === "no" ? false : checked.value;
    }
    if (first.type === "checkbox") {
      return inputs.filter(function (el) { return el.checked; }).map(function (el) { return el.value; });
    }
    return first.value === "" ? null : first.value;
  }

  function same(current, wanted) {
    if (current === null || wanted === null) { return current === wanted; }
    if (typeof wanted === "number") { return Number(current) === wanted; }
    return current === wanted;
  }

  function holds(c) {
    if (c.all) { return c.all.every(holds); }
    if (c.any) { return c.any.some(holds); }
    if (c.not) { return !holds(c.not); }
    var current = valueOf(c.field);
    if (c.set) { return Array.isArray(current) ? current.length > 0 : (current !== null && current !== false); }
    if ("has" in c) { return Array.isArray(current) && current.indexOf(c.has) !== -1; }
    if (c.is) { return c.is.some(function (v) { return same(current, v); }); }
    if (c.is_not) { return !c.is_not.some(function (v) { return same(current, v); }); }
    return true;
  }

  function apply() {
    // a follow-up may hang on another follow-up: settle until nothing changes
    for (var round = 0; round <= followUps.length; round++) {
      var changed = false;
      followUps.forEach(function (box) {
        var show = holds(JSON.parse(box.dataset.showWhen));
        if (box.hidden === show) {
          box.hidden = !show;
          Array.prototype.forEach.call(box.querySelectorAll("input, select, textarea"), function (el) { el.disabled = !show; });
          changed = true;
        }
      });
      if (!changed) { return; }
    }
  }

  form.addEventListener("change", apply);
  form.addEventListener("input", apply);
  apply();
})();
