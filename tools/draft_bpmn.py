"""Drafting aid: writes a BPMN file (with lanes, Camunda forms and a simple left-to-right
layout) from a compact description. It was used to draw the first version of each pack's
diagrams; from then on the .bpmn files are the source of truth, edited in a modeler.

    python tools/draft_bpmn.py tools/drafts/derby.py bpmn/derby
"""
import runpy
import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

SIZES = {"start": (36, 36), "end": (36, 36), "timer": (36, 36), "gateway": (50, 50),
         "user": (110, 80), "service": (110, 80)}
COL, LANE_H, LANE_X, POOL_LABEL = 170, 150, 190, 30


def q(value):
    return quoteattr(str(value))


def form_xml(fields):
    out = ["<camunda:formData>"]
    for f in fields:
        out.append(f'<camunda:formField id={q(f["id"])} label={q(f["label"])} type={q(f["type"])}'
                   + (f' defaultValue={q(f["default"])}' if "default" in f else "") + ">")
        props = {k: v for k, v in f.items() if k in ("requiredWhen", "multiple", "userWithRole")}
        if props:
            out.append("<camunda:properties>" + "".join(
                f"<camunda:property id={q(k)} value={q(v)} />" for k, v in props.items()) + "</camunda:properties>")
        if f.get("required"):
            out.append('<camunda:validation><camunda:constraint name="required" /></camunda:validation>')
        for option_id, name in f.get("options", []):
            out.append(f"<camunda:value id={q(option_id)} name={q(name)} />")
        out.append("</camunda:formField>")
    out.append("</camunda:formData>")
    return "".join(out)


def props_xml(props):
    if not props:
        return ""
    return "<camunda:properties>" + "".join(
        f"<camunda:property name={q(k)} value={q(v)} />" for k, v in props.items()) + "</camunda:properties>"


def node_xml(n, incoming, outgoing, default_flow):
    kind, nid, name = n["kind"], n["id"], n.get("name", "")
    flows = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in incoming) + \
        "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in outgoing)
    if kind == "start":
        return f"<bpmn:startEvent id={q(nid)} name={q(name)}>{flows}</bpmn:startEvent>"
    if kind == "end":
        return f"<bpmn:endEvent id={q(nid)} name={q(name)}>{flows}</bpmn:endEvent>"
    if kind == "timer":
        return (f"<bpmn:intermediateCatchEvent id={q(nid)} name={q(name)}>{flows}"
                f"<bpmn:timerEventDefinition id={q(nid + '_def')}><bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\">"
                f"{escape(n['duration'])}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>")
    if kind == "gateway":
        default = f" default={q(default_flow)}" if default_flow else ""
        return f"<bpmn:exclusiveGateway id={q(nid)} name={q(name)}{default}>{flows}</bpmn:exclusiveGateway>"
    if kind == "user":
        ext = form_xml(n.get("fields", [])) + props_xml(n.get("props"))
        return (f"<bpmn:userTask id={q(nid)} name={q(name)}><bpmn:extensionElements>{ext}"
                f"</bpmn:extensionElements>{flows}</bpmn:userTask>")
    if kind == "service":
        ext = props_xml(n.get("props"))
        ext = f"<bpmn:extensionElements>{ext}</bpmn:extensionElements>" if ext else ""
        return (f"<bpmn:serviceTask id={q(nid)} name={q(name)} camunda:type=\"external\" "
                f"camunda:topic={q(n['action'])}>{ext}{flows}</bpmn:serviceTask>")
    raise ValueError(kind)


def layout(process):
    nodes = {n["id"]: n for n in process["nodes"]}
    succ = {nid: [] for nid in nodes}
    for f in process["flows"]:
        succ[f[1]].append(f[2])
    column = {process["nodes"][0]["id"]: 0}
    order = [process["nodes"][0]["id"]]
    while order:  # longest path from the start, in a DAG
        nid = order.pop(0)
        for nxt in succ[nid]:
            if column.get(nxt, -1) < column[nid] + 1:
                column[nxt] = column[nid] + 1
                order.append(nxt)
    lane_of = {nid: i for i, (_, members) in enumerate(process["lanes"]) for nid in members}
    slots, pos = {}, {}
    for nid, n in nodes.items():
        lane, col = lane_of[nid], column[nid]
        k = slots.get((lane, col), 0)
        slots[(lane, col)] = k + 1
        w, h = SIZES[n["kind"]]
        cx = LANE_X + 60 + col * COL
        cy = 40 + lane * LANE_H + LANE_H // 2 + k * 45
        pos[nid] = (cx - w // 2, cy - h // 2, w, h)
    return pos


def write(process, directory):
    pid = process["id"]
    pos = layout(process)
    incoming, outgoing = {}, {}
    for f in process["flows"]:
        outgoing.setdefault(f[1], []).append(f[0])
        incoming.setdefault(f[2], []).append(f[0])
    defaults = {f[1]: f[0] for f in process["flows"] if len(f) > 3 and f[3] == "default"}
    body = []
    body.append('<bpmn:laneSet id="LaneSet_1">')
    for i, (lane, members) in enumerate(process["lanes"]):
        refs = "".join(f"<bpmn:flowNodeRef>{m}</bpmn:flowNodeRef>" for m in members)
        body.append(f'<bpmn:lane id="Lane_{i}" name={q(lane)}>{refs}</bpmn:lane>')
    body.append("</bpmn:laneSet>")
    for n in process["nodes"]:
        body.append(node_xml(n, incoming.get(n["id"], []), outgoing.get(n["id"], []), defaults.get(n["id"])))
    for f in process["flows"]:
        fid, src, tgt = f[:3]
        cond = f[3] if len(f) > 3 and f[3] != "default" else None
        label = f[4] if len(f) > 4 else ""
        inner = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(cond)}'
                 f"</bpmn:conditionExpression>") if cond else ""
        body.append(f"<bpmn:sequenceFlow id={q(fid)} name={q(label)} sourceRef={q(src)} targetRef={q(tgt)}>{inner}</bpmn:sequenceFlow>")
    width = max(x + w for x, _, w, _ in pos.values()) + 80 - LANE_X + POOL_LABEL
    di = [f'<bpmndi:BPMNShape id="Participant_di" bpmnElement="Participant_1" isHorizontal="true">'
          f'<dc:Bounds x="{LANE_X - POOL_LABEL}" y="40" width="{width + POOL_LABEL}" height="{LANE_H * len(process["lanes"])}" /></bpmndi:BPMNShape>']
    for i, _ in enumerate(process["lanes"]):
        di.append(f'<bpmndi:BPMNShape id="Lane_{i}_di" bpmnElement="Lane_{i}" isHorizontal="true">'
                  f'<dc:Bounds x="{LANE_X}" y="{40 + i * LANE_H}" width="{width}" height="{LANE_H}" /></bpmndi:BPMNShape>')
    for nid, (x, y, w, h) in pos.items():
        marker = ' isMarkerVisible="true"' if process_node(process, nid)["kind"] == "gateway" else ""
        di.append(f'<bpmndi:BPMNShape id="{nid}_di" bpmnElement="{nid}"{marker}><dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}" /></bpmndi:BPMNShape>')
    for f in process["flows"]:
        fid, src, tgt = f[:3]
        sx, sy, sw, sh = pos[src]
        tx, ty, tw, th = pos[tgt]
        a, b = (sx + sw, sy + sh // 2), (tx, ty + th // 2)
        if b[0] <= a[0]:  # a flow going back: route it below
            points = [(sx + sw // 2, sy + sh), (sx + sw // 2, sy + sh + 25), (tx + tw // 2, sy + sh + 25), (tx + tw // 2, ty + th)]
        elif a[1] == b[1]:
            points = [a, b]
        else:
            mid = a[0] + 25
            points = [a, (mid, a[1]), (mid, b[1]), b]
        wps = "".join(f'<di:waypoint x="{x}" y="{y}" />' for x, y in points)
        di.append(f'<bpmndi:BPMNEdge id="{fid}_di" bpmnElement="{fid}">{wps}</bpmndi:BPMNEdge>')
    xml = f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_{pid}" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.0.0">
<bpmn:collaboration id="Collaboration_1"><bpmn:participant id="Participant_1" name={q(process["name"])} processRef={q(pid)} /></bpmn:collaboration>
<bpmn:process id={q(pid)} name={q(process["name"])} isExecutable="true">
{chr(10).join(body)}
</bpmn:process>
<bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Collaboration_1">
{chr(10).join(di)}
</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
'''
    from lxml import etree
    pretty = etree.tostring(etree.fromstring(xml.encode()), pretty_print=True, xml_declaration=True, encoding="UTF-8")
    (Path(directory) / f"{pid}.bpmn").write_bytes(pretty)


def process_node(process, nid):
    return next(n for n in process["nodes"] if n["id"] == nid)


if __name__ == "__main__":
    draft = runpy.run_path(sys.argv[1])
    for process in draft["PROCESSES"]:
        write(process, sys.argv[2])
        print("wrote", process["id"])
