// Draws the case's process with bpmn-js and marks where it waits now and what it has done.
(function () {
  var box = document.getElementById("diagram");
  if (!box || !box.dataset.xml || !window.BpmnJS) { return; }
  var viewer = new BpmnJS({ container: box });
  fetch(box.dataset.xml, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("diagram " + r.status); } return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      JSON.parse(box.dataset.done).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "done"); } });
      JSON.parse(box.dataset.current).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "current"); } });
      canvas.zoom("fit-viewport");
      box.setAttribute("data-drawn", "true");
      zoomControls(canvas);
    })
    .catch(function (err) { box.textContent = "The diagram could not be drawn: " + err.message; });

  // buttons for those who cannot pinch or scroll-zoom (WCAG 2.1.1: every function by keyboard)
  function zoomControls(canvas) {
    var controls = document.getElementById("diagram-zoom");
    if (!controls) { return; }
    controls.hidden = false;
    controls.addEventListener("click", function (event) {
      var how = event.target.dataset.zoom;
      if (how === "fit") { canvas.zoom("fit-viewport"); }
      else if (how) { canvas.zoom(canvas.zoom() * (how === "in" ? 1.25 : 0.8)); }
    });
  }
})();
