// The process modeler: bpmn-js with its properties panel and Camunda's extensions (forms,
// properties, timers, conditions), so a process owner edits the same things Camunda Modeler does.
// Bundled by `npm run build` into webapp/static/processes/ (modeler.js and modeler.css).
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";

import BpmnModeler from "bpmn-js/lib/Modeler";
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from "bpmn-js-properties-panel";
import CamundaBehaviorsModule from "camunda-bpmn-js-behaviors/lib/camunda-platform";
import camundaModdle from "camunda-bpmn-moddle/resources/camunda.json";

// The whole diagram in view, clear of the tool palette on the left.
function fitBesidePalette(canvas) {
  canvas.zoom("fit-viewport");
  var vb = canvas.viewbox(), inner = vb.inner, outer = vb.outer, room = 110;
  if (!inner.width || !inner.height || outer.width <= room * 2) { return; }
  var scale = Math.min((outer.width - room - 20) / inner.width, (outer.height - 20) / inner.height, 1);
  canvas.viewbox({ x: inner.x - (room + 10) / scale, y: inner.y - 10 / scale,
                   width: outer.width / scale, height: outer.height / scale });
}

// Each of the checker's findings that names an element of the diagram gets a button that
// selects the element, brings it into view and opens it in the properties panel. A finding about
// an event's timer (or other event definition) names the definition: the event holding it is shown.
function showFindings(modeler) {
  var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry"), selection = modeler.get("selection");
  function holding(id) {
    return registry.find(function (shape) {
      return (shape.businessObject.eventDefinitions || []).some(function (d) { return d.id === id; });
    });
  }
  document.querySelectorAll(".findings li[data-element]").forEach(function (item) {
    var element = registry.get(item.dataset.element) || holding(item.dataset.element);
    if (!element) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary show-element";
    button.textContent = "Show in the diagram";
    button.addEventListener("click", function () {
      canvas.scrollToElement(element);
      selection.select(element);
      document.getElementById("modeler").focus();
    });
    item.appendChild(document.createTextNode(" "));
    item.appendChild(button);
  });
}

function start() {
  var box = document.getElementById("modeler");
  if (!box) { return; }
  var form = document.getElementById("diagram-form");
  var xmlField = document.getElementById("diagram-xml");
  var modeler = new BpmnModeler({
    container: box,
    propertiesPanel: { parent: "#properties" },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      CamundaBehaviorsModule,
    ],
    moddleExtensions: { camunda: camundaModdle },
  });
  window.alertflowModeler = modeler;  // the page's API, for tests and the curious

  modeler.importXML(xmlField.value)
    .then(function (result) {
      if (result.warnings && result.warnings.length) {
        var warn = document.getElementById("import-warnings");
        warn.textContent = "The modeler met " + result.warnings.length +
          " thing(s) it could not read in this file; saving may drop them.";
        warn.hidden = false;
      }
      var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
      JSON.parse(box.dataset.findings || "[]").forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "finding"); }  // the checker's findings, on the diagram
      });
      fitBesidePalette(canvas);
      showFindings(modeler);
      // a diagram sent back by Check (or new) holds edits not yet deployed
      unsaved = box.dataset.unsaved === "true";
      modeler.on("commandStack.changed", function () { unsaved = true; });
      box.setAttribute("data-ready", "true");
    })
    .catch(function (err) {
      box.textContent = "The diagram could not be opened: " + err.message;
      box.setAttribute("data-ready", "error");
    });

  // Leaving with edits not deployed asks first (the browser's own question).
  var unsaved = false;
  window.addEventListener("beforeunload", function (event) {
    if (unsaved && !sending) { event.preventDefault(); event.returnValue = ""; }
  });

  // Check or deploy: put the diagram as the modeler has it into the form, then send it.
  var sending = false;
  form.addEventListener("submit", function (event) {
    if (sending) { return; }
    event.preventDefault();
    var button = event.submitter;
    modeler.saveXML({ format: true }).then(function (result) {
      xmlField.value = result.xml;
      sending = true;
      if (button && button.name) {
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = button.name; hidden.value = button.value;
        form.appendChild(hidden);
      }
      form.submit();
    });
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
