"""SpiffWorkflow, adapted: safe parsing, service tasks that run register actions, safe
expressions, and a serializer that stores only a case's state (its spec comes from the
deployed definition, parsed once per process and cached).
"""
import re
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, CamundaTaskParser
from SpiffWorkflow.camunda.parser.task_spec import UserTaskParser as _CamundaUserTaskParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.user_task import EnumFormField, Form, FormField, UserTask

from workflows.platform.errors import WorkflowError
from workflows.platform import clock
from workflows.definitions import expressions

clock.install()


class ActionTask(ServiceTask):
    """A service task that runs one named action of our vocabulary on the register."""

    def __init__(self, wf_spec, bpmn_id, action=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.action = action

    def _execute(self, task):
        task.workflow.script_engine.run_action(task)
        return True


class ActionTaskParser(CamundaTaskParser):
    """Reads the action name from `camunda:topic` (an external task in Camunda Modeler)."""

    def create_task(self):
        action = self.node.get(f"{{{CAMUNDA_MODEL_NS}}}topic")
        return self.spec_class(self.spec, self.bpmn_id, action=action, **self.bpmn_attributes)


class UserTaskParser(_CamundaUserTaskParser):
    """Reads `camunda:formData` whether or not the task has a form key (Modeler omits it)."""

    def get_form(self):
        form = Form()
        form.key = self.node.get(f"{{{CAMUNDA_MODEL_NS}}}formKey")
        for node in self.xpath(".//camunda:formData/camunda:formField"):
            field = EnumFormField() if node.get("type") == "enum" else FormField()
            field.id, field.type = node.get("id"), node.get("type")
            field.label, field.default_value = node.get("label"), node.get("defaultValue")
            for child in node:
                tag = etree.QName(child).localname
                if tag == "properties":
                    for prop in child:
                        field.add_property(prop.get("id"), prop.get("value"))
                elif tag == "validation":
                    for constraint in child:
                        field.add_validation(constraint.get("name"), constraint.get("config"))
                elif tag == "value":
                    field.add_option(child.get("id"), child.get("name"))
            form.add_field(field)
        return form


class Parser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ActionTaskParser, ActionTask),
        full_tag("userTask"): (UserTaskParser, UserTask),
    }


class XmlRefused(WorkflowError, ValueError):  # ValueError too: parsers raise and catch it
    """XML that is not accepted: it does not parse, or it declares a DTD or entities."""


def safe_xml(content: bytes | str):
    """Parse XML with DTDs, entity expansion and network access all off."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    if b"<!doctype" in content[:4096].lower():
        raise XmlRefused("the file declares a DTD (<!DOCTYPE ...>); DTDs and entities are refused")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_comments=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as err:
        raise XmlRefused(f"the XML does not parse: {err}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlRefused("the file declares a DTD (<!DOCTYPE ...>); DTDs and entities are refused")
    return root


# P6M, PT12H, R3/P1M, 2027-01-31 or 2027-01-31T09:00Z: written bare, meant as text
_BARE_TIMER = re.compile(r"^(R\d*/)?(PT?[0-9][0-9A-Z.,]*|\d{4}-\d{2}-\d{2}(T[0-9:.+\-Z]*)?)$")


def quote_bare_timer(expression: str) -> str:
    """Camunda Modeler writes P6M bare; the engine evaluates timers as expressions."""
    stripped = (expression or "").strip()
    # "6 months" too: meant as a duration, so the check can say to write P6M
    return repr(stripped) if _BARE_TIMER.match(stripped) or clock.iso_duration(stripped) else stripped


def parse_processes(xml_root, filename: str) -> tuple[dict, dict]:
    """Parse one BPMN document into {process_id: spec} and its subprocess specs."""
    parser = Parser()
    parser.add_bpmn_xml(etree.ElementTree(xml_root), filename=filename)
    specs = {}
    for process_id in parser.get_process_ids():
        spec = parser.get_spec(process_id)
        for task_spec in spec.task_specs.values():
            event = getattr(task_spec, "event_definition", None)
            if isinstance(event, TimerEventDefinition):
                event.expression = quote_bare_timer(event.expression)
        specs[process_id] = spec
    subprocess_specs = {}
    for process_id in specs:
        subprocess_specs.update(parser.get_subprocess_specs(process_id))
    return specs, subprocess_specs


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Expressions go through the allow-listed evaluator; scripts are not run at all."""

    def evaluate(self, expression, context, external_context=None):
        data = dict(external_context or {})
        data.update(context)
        return expressions.evaluate(expression, data)

    def execute(self, script, context, external_context=None):
        raise expressions.ExpressionError("script tasks are not run; use a service task with an action")

    def call_service(self, context, **kwargs):
        raise expressions.ExpressionError("services are run as actions, not scripts")


MAX_INSTANCES = 100  # of one multi-instance step in a case: each instance is a task held in its state


def instance_count_problem(count) -> str | None:
    """Why this is not a number of times to run a multi-instance step, or None if it is one. The
    deploy check asks it of a constant loopCardinality, the engine of what an expression gives."""
    if isinstance(count, bool) or not isinstance(count, int):
        return f"gave {count!r}, which is not a whole number"
    if not 0 <= count <= MAX_INSTANCES:
        return f"gave {count}, but a step runs from 0 to {MAX_INSTANCES} times"
    return None


class ScriptEngine(PythonScriptEngine):
    """Evaluates safely and hands service tasks to the action runner of the current step."""

    def __init__(self, run_action=None, calendar=None):
        super().__init__(environment=SafeEnvironment())
        self._run_action = run_action
        self.calendar = calendar  # the pack's business calendar: timers count working days on it

    def evaluate(self, task, expression, external_context=None):
        value = super().evaluate(task, expression, external_context)
        spec = task.task_spec
        # SpiffWorkflow makes one task per instance from whatever loopCardinality gives: an
        # expression over case data is bounded here as a constant one is at deploy
        if isinstance(spec, MultiInstanceTask) and spec.cardinality == expression and spec.data_input is None:
            problem = instance_count_problem(value)
            if problem:
                each = task.workflow.spec.task_specs.get(spec.task_spec)  # the step each instance runs
                raise WorkflowTaskException(
                    f"the multi-instance step '{getattr(each, 'bpmn_name', None) or spec.bpmn_id}': its loopCardinality "
                    f"'{expression}' {problem}", task=task)
        return value

    def run_action(self, task):
        if self._run_action is None:
            raise RuntimeError(f"no action runner for service task {task.task_spec.bpmn_id}")
        self._run_action(task)


class _StateOnlyConverter(BpmnWorkflowConverter):
    """Stores the task tree and data, not the spec, which the definition row already holds."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        workflow = self.target_class(dct.pop("spec"), dct.pop("subprocess_specs"), deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_CONFIG = dict(CAMUNDA_CONFIG)
_CONFIG[BpmnWorkflow] = _StateOnlyConverter
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_CONFIG))


def dump_state(workflow: BpmnWorkflow) -> dict:
    """The JSON-ready state of a workflow, without its spec."""
    return _serializer.to_dict(workflow)


def load_state(state: dict, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    """Rebuild a workflow from stored state and its (cached) spec."""
    dct = dict(state)
    dct["spec"], dct["subprocess_specs"] = spec, subprocess_specs
    workflow = _serializer.from_dict(dct)
    workflow.script_engine = script_engine
    return workflow


def new_workflow(spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    return BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
