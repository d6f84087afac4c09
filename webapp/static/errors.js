// After a failed submit the summary of what needs attention takes the focus, so a screen reader
// reads it first and a keyboard user is one Tab from the first field to mend (WCAG 3.3.1).
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
