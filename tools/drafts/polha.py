"""Draft of Port of Leith Housing Association's diagrams (see tools/draft_bpmn.py). Policy
references are to ../shared/policies/port-of-leith-ha-difficult-customer-policy.txt."""

# §4.2.4-4.2.5: restrictions on contact (never removing access to the service altogether)
RESTRICTIONS = [
    ("written_only", "Written communication only"),
    ("named_staff", "Contact with nominated member(s) of staff only"),
    ("appointment_only", "Office visits by appointment only"),
    ("third_party", "Contact only through a named third party or advocate (signed mandate)"),
    ("no_home_visits", "No home visits"),
    ("no_office_access", "No access to the office"),
]
CHOSEN = "control_measures != None and '{}' in control_measures"
SERIOUS = "category == 'serious'"

ASSESS = [
    {"id": "incident_summary", "label": "What happened, and how it was reported (§4.2.2-4.2.3)", "type": "string",
     "required": True},
    {"id": "part_of_pattern", "label": "Part of a pattern?", "type": "boolean", "required": True},
    {"id": "adjustments_considered", "label": "Reasonable adjustments considered (Equality Act 2010, §4.2.8)",
     "type": "string", "required": True},
    {"id": "police_reference", "label": "Police report reference (§4.2.4)", "type": "string", "requiredWhen": SERIOUS},
    {"id": "response", "label": "Response (§4.2.2)", "type": "enum", "requiredWhen": "category != 'serious'",
     "options": [("warning", "A warning letter first: contact may be restricted if it persists"),
                 ("refer", "Refer to the operational manager: restrictions, risk alert or persistent correspondent"),
                 ("none", "No further action")]},
    {"id": "decision_reason", "label": "Reasons", "type": "string", "required": True},
    {"id": "breach_of_tenancy", "label": "Breach of tenancy action considered (§4.1.3)", "type": "string"},
]

DECIDE = [
    {"id": "restrict", "label": "Restrict contact with staff or access to the office (§4.2.4)?", "type": "boolean",
     "required": True},
    {"id": "control_measures", "label": "Restrictions on contact (§4.2.5)", "type": "enum", "multiple": "true",
     "requiredWhen": "restrict == True or category == 'serious'", "options": RESTRICTIONS},
    {"id": "named_staff", "label": "Nominated member(s) of staff", "type": "string",
     "requiredWhen": CHOSEN.format("named_staff")},
    {"id": "third_party_name", "label": "The named third party or advocate", "type": "string",
     "requiredWhen": CHOSEN.format("third_party")},
    {"id": "mandate", "label": "Mandate from the customer nominating them (§4.2.5)", "type": "enum",
     "requiredWhen": CHOSEN.format("third_party"), "options": [("signed", "Signed mandate received")]},
    {"id": "risk_alert", "label": "Risk alert on QL (§4.2.2)?", "type": "boolean",
     "requiredWhen": "category != 'serious'"},
    {"id": "designate_persistent", "label": "Deem a persistent and/or vexatious correspondent (§4.2.7)?",
     "type": "boolean", "requiredWhen": "category == 'unreasonable_persistence'"},
    {"id": "designated_subjects", "label": "Subject(s) we will not respond on without new information (§4.2.7)",
     "type": "string", "requiredWhen": "designate_persistent == True"},
    {"id": "marker_text", "label": "What staff see on QL", "type": "string",
     "requiredWhen": "restrict == True or risk_alert == True or designate_persistent == True or category == 'serious'"},
    {"id": "adjustments_made", "label": "Reasonable adjustments made (Equality Act 2010, §4.2.8)", "type": "string",
     "required": True},
    {"id": "decision_reason", "label": "Reasons for the decision, as the customer will be told", "type": "string",
     "required": True},
    {"id": "inform_customer", "label": "Tell the customer about the risk alert?", "type": "boolean",
     "requiredWhen": "category != 'serious' and restrict == False and designate_persistent != True and risk_alert == True"},
    {"id": "non_disclosure_reason", "label": "Why the customer will not be told", "type": "string",
     "requiredWhen": "category != 'serious' and restrict == False and designate_persistent != True "
                     "and risk_alert == True and inform_customer == False"},
]
MEASURE = ("category == 'serious' or restrict == True or risk_alert == True or designate_persistent == True")

ASSESSMENT = {
    "id": "polha_assessment", "name": "Port of Leith HA: unacceptable behaviour (§4.2)",
    "lanes": [
        ("Staff", ["start"]),
        ("Manager", ["assess", "file_assessment", "gw_response", "warning_close", "warning_letter", "end_warned",
                     "no_action", "end_no_action"]),
        ("Operational Manager", ["decide", "file_decision", "gw_measure", "no_measure", "end_no_measure",
                                 "place_marker", "schedule_review", "gw_letter", "persistent_letter",
                                 "restriction_letter", "gw_alert_only", "alert_letter", "non_disclosure",
                                 "told", "end_measure"]),
    ],
    "nodes": [
        {"kind": "start", "id": "start", "name": "Unacceptable behaviour reported to the manager"},
        {"kind": "user", "id": "assess", "name": "Assess the behaviour and the response (§4.2.2)",
         "props": {"decision": "true", "dueIn": "P5D"}, "fields": ASSESS},
        {"kind": "service", "id": "file_assessment", "name": "Keep the assessment", "action": "file_risk_assessment"},
        {"kind": "gateway", "id": "gw_response", "name": "Response?"},
        {"kind": "service", "id": "warning_close", "name": "Warning, no restriction yet", "action": "record_no_marker"},
        {"kind": "service", "id": "warning_letter", "name": "Warning letter (§4.2.2)", "action": "issue_letter",
         "props": {"template": "warning_letter"}},
        {"kind": "end", "id": "end_warned", "name": "Warned"},
        {"kind": "service", "id": "no_action", "name": "No further action", "action": "record_no_marker"},
        {"kind": "end", "id": "end_no_action", "name": "Closed"},
        {"kind": "user", "id": "decide", "name": "Decide on restrictions and a risk alert (§4.2.4-4.2.7)",
         "props": {"decision": "true", "dueIn": "P5D"}, "fields": DECIDE},
        {"kind": "service", "id": "file_decision", "name": "Keep the decision", "action": "file_risk_assessment"},
        {"kind": "gateway", "id": "gw_measure", "name": "Any measure?"},
        {"kind": "service", "id": "no_measure", "name": "No restriction or alert", "action": "record_no_marker"},
        {"kind": "end", "id": "end_no_measure", "name": "Closed"},
        {"kind": "service", "id": "place_marker", "name": "Risk alert and restrictions on QL", "action": "place_marker"},
        {"kind": "service", "id": "schedule_review", "name": "Annual review by the OMT manager (§4.2.5)",
         "action": "schedule_review", "props": {"process": "polha_review"}},
        {"kind": "gateway", "id": "gw_letter", "name": "What to tell?"},
        {"kind": "service", "id": "persistent_letter", "name": "Persistent correspondent letter (§4.2.7)",
         "action": "issue_letter", "props": {"template": "persistent_correspondent"}},
        {"kind": "service", "id": "restriction_letter", "name": "Restrictions told in writing (§4.2.4)",
         "action": "issue_letter", "props": {"template": "restriction_decision"}},
        {"kind": "gateway", "id": "gw_alert_only", "name": "Tell about the risk alert?"},
        {"kind": "service", "id": "alert_letter", "name": "Risk alert letter", "action": "issue_letter",
         "props": {"template": "restriction_decision"}},
        {"kind": "service", "id": "non_disclosure", "name": "Reason for not telling recorded",
         "action": "record_non_disclosure"},
        {"kind": "gateway", "id": "told", "name": ""},
        {"kind": "end", "id": "end_measure", "name": "Measures in place"},
    ],
    "flows": [
        ("f_start", "start", "assess"),
        ("f_assessed", "assess", "file_assessment"),
        ("f_filed", "file_assessment", "gw_response"),
        ("f_refer", "gw_response", "decide", "category == 'serious' or response == 'refer'", "Serious / refer"),
        ("f_warning", "gw_response", "warning_close", "response == 'warning'", "Warning letter"),
        ("f_none", "gw_response", "no_action", "default", "No action"),
        ("f_warning_closed", "warning_close", "warning_letter"),
        ("f_warned", "warning_letter", "end_warned"),
        ("f_closed", "no_action", "end_no_action"),
        ("f_decided", "decide", "file_decision"),
        ("f_decision_filed", "file_decision", "gw_measure"),
        ("f_measure", "gw_measure", "place_marker", MEASURE, "Yes"),
        ("f_no_measure", "gw_measure", "no_measure", "default", "No"),
        ("f_no_measure_end", "no_measure", "end_no_measure"),
        ("f_placed", "place_marker", "schedule_review"),
        ("f_scheduled", "schedule_review", "gw_letter"),
        ("f_persistent", "gw_letter", "persistent_letter", "designate_persistent == True", "Persistent correspondent"),
        ("f_restricted", "gw_letter", "restriction_letter", "restrict == True or category == 'serious'", "Restrictions"),
        ("f_alert_only", "gw_letter", "gw_alert_only", "default", "Risk alert only"),
        ("f_tell_alert", "gw_alert_only", "alert_letter", "inform_customer == True", "Yes"),
        ("f_not_tell", "gw_alert_only", "non_disclosure", "default", "No"),
        ("f_persistent_told", "persistent_letter", "told"),
        ("f_restriction_told", "restriction_letter", "told"),
        ("f_alert_told", "alert_letter", "told"),
        ("f_nd", "non_disclosure", "told"),
        ("f_end", "told", "end_measure"),
    ],
}

REVIEW_FORM = [
    {"id": "behaviour_since", "label": "The customer's behaviour and contact since the decision", "type": "string",
     "required": True},
    {"id": "adjustments_reviewed", "label": "Reasonable adjustments reviewed (Equality Act 2010, §4.2.8)",
     "type": "string", "required": True},
    {"id": "review_outcome", "label": "Outcome", "type": "enum", "required": True,
     "options": [("keep", "Keep the restrictions"), ("change", "Change the restrictions"),
                 ("lift", "Lift the restrictions and the risk alert")]},
    {"id": "review_reason", "label": "Reasons, as the customer will be told", "type": "string", "required": True},
    {"id": "control_measures", "label": "Restrictions on contact (§4.2.5)", "type": "enum", "multiple": "true",
     "requiredWhen": "review_outcome == 'change'", "options": RESTRICTIONS},
    {"id": "marker_text", "label": "What staff see on QL", "type": "string", "requiredWhen": "review_outcome == 'change'"},
]

REVIEW = {
    "id": "polha_review", "name": "Port of Leith HA: annual review of restrictions (§4.2.5)",
    "lanes": [
        ("OMT Manager", ["start", "due", "review", "file_review", "gw_outcome", "lift", "lifted_letter", "end_lifted",
                         "keep", "schedule_next", "letter", "end_kept"]),
    ],
    "nodes": [
        {"kind": "start", "id": "start", "name": "Restrictions decided or reviewed"},
        {"kind": "timer", "id": "due", "name": "A year", "duration": "P1Y"},
        {"kind": "user", "id": "review", "name": "Review the restrictions (§4.2.5)",
         "props": {"decision": "true", "dueIn": "P14D"}, "fields": REVIEW_FORM},
        {"kind": "service", "id": "file_review", "name": "Keep the review", "action": "file_risk_assessment"},
        {"kind": "gateway", "id": "gw_outcome", "name": "Outcome?"},
        {"kind": "service", "id": "lift", "name": "Lift the restrictions", "action": "remove_marker"},
        {"kind": "service", "id": "lifted_letter", "name": "Told in writing", "action": "issue_letter",
         "props": {"template": "restrictions_lifted"}},
        {"kind": "end", "id": "end_lifted", "name": "Lifted"},
        {"kind": "service", "id": "keep", "name": "Keep (or change) the restrictions", "action": "keep_marker"},
        {"kind": "service", "id": "schedule_next", "name": "Next annual review", "action": "schedule_review",
         "props": {"process": "polha_review"}},
        {"kind": "service", "id": "letter", "name": "Told in writing", "action": "issue_letter",
         "props": {"template": "review_outcome"}},
        {"kind": "end", "id": "end_kept", "name": "Kept"},
    ],
    "flows": [
        ("f_start", "start", "due"),
        ("f_due", "due", "review"),
        ("f_reviewed", "review", "file_review"),
        ("f_filed", "file_review", "gw_outcome"),
        ("f_lift", "gw_outcome", "lift", "review_outcome == 'lift'", "Lift"),
        ("f_keep", "gw_outcome", "keep", "default", "Keep / change"),
        ("f_lifted", "lift", "lifted_letter"),
        ("f_lifted_told", "lifted_letter", "end_lifted"),
        ("f_kept", "keep", "schedule_next"),
        ("f_next", "schedule_next", "letter"),
        ("f_end", "letter", "end_kept"),
    ],
}

COMPLAINT_FORM = [
    {"id": "complaint_response", "label": "Our response to the complaint", "type": "string", "required": True},
    {"id": "appeal_outcome", "label": "Outcome", "type": "enum", "required": True,
     "options": [("not_upheld", "Not upheld: the restrictions stay"), ("changed", "Partly upheld: restrictions changed"),
                 ("upheld", "Upheld: restrictions and risk alert lifted")]},
    {"id": "appeal_reasons", "label": "Reasons", "type": "string", "required": True},
    {"id": "control_measures", "label": "Restrictions on contact", "type": "enum", "multiple": "true",
     "requiredWhen": "appeal_outcome == 'changed'", "options": RESTRICTIONS},
    {"id": "marker_text", "label": "What staff see on QL", "type": "string", "requiredWhen": "appeal_outcome == 'changed'"},
]
HEARS = {"decision": "true", "mustOutrank": "original_decider"}


def outcome_nodes(prefix):
    return [
        {"kind": "gateway", "id": f"{prefix}_gw", "name": "Outcome?"},
        {"kind": "service", "id": f"{prefix}_lift", "name": "Lift the restrictions", "action": "remove_marker",
         "props": {"reason_field": "appeal_reasons"}},
        {"kind": "service", "id": f"{prefix}_change", "name": "Change the restrictions", "action": "amend_marker"},
        {"kind": "gateway", "id": f"{prefix}_done", "name": ""},
    ]


def outcome_flows(prefix, task):
    return [
        (f"f_{prefix}_heard", task, f"{prefix}_gw"),
        (f"f_{prefix}_lift", f"{prefix}_gw", f"{prefix}_lift", "appeal_outcome == 'upheld'", "Upheld"),
        (f"f_{prefix}_change", f"{prefix}_gw", f"{prefix}_change", "appeal_outcome == 'changed'", "Changed"),
        (f"f_{prefix}_not", f"{prefix}_gw", f"{prefix}_done", "default", "Not upheld"),
        (f"f_{prefix}_lifted", f"{prefix}_lift", f"{prefix}_done"),
        (f"f_{prefix}_changed", f"{prefix}_change", f"{prefix}_done"),
    ]


APPEAL = {
    "id": "polha_appeal", "name": "Port of Leith HA: complaint against a restriction (§4.2.9)",
    "lanes": [
        ("Staff", ["start", "escalation", "gw_escalate"]),
        ("OMT Manager", ["stage1", "s1_gw", "s1_lift", "s1_change", "s1_done", "stage1_letter", "gw_after_stage1"]),
        ("Director", ["stage2", "s2_gw", "s2_lift", "s2_change", "s2_done", "record_outcome", "stage2_letter",
                      "concluded", "end"]),
    ],
    "nodes": [
        {"kind": "start", "id": "start", "name": "Customer complains about the restriction"},
        {"kind": "user", "id": "stage1", "name": "Complaint stage 1: frontline response",
         "props": {**HEARS, "dueIn": "P5D"}, "fields": COMPLAINT_FORM},
        *outcome_nodes("s1"),
        {"kind": "service", "id": "stage1_letter", "name": "Stage 1 response", "action": "issue_letter",
         "props": {"template": "complaint_stage1"}},
        {"kind": "gateway", "id": "gw_after_stage1", "name": "Lifted?"},
        {"kind": "user", "id": "escalation", "name": "Record whether the customer takes the complaint to stage 2",
         "props": {"dueIn": "P1M"},
         "fields": [{"id": "escalate", "label": "Customer still dissatisfied: stage 2 investigation?",
                     "type": "boolean", "required": True},
                    {"id": "escalation_grounds", "label": "Why they remain dissatisfied", "type": "string",
                     "requiredWhen": "escalate == True"}]},
        {"kind": "gateway", "id": "gw_escalate", "name": "Stage 2?"},
        {"kind": "user", "id": "stage2", "name": "Complaint stage 2: investigation",
         "props": {**HEARS, "dueIn": "P20D"}, "fields": COMPLAINT_FORM},
        *outcome_nodes("s2"),
        {"kind": "service", "id": "stage2_letter", "name": "Final response: the SPSO (§4.2.9)", "action": "issue_letter",
         "props": {"template": "complaint_final"}},
        {"kind": "gateway", "id": "concluded", "name": ""},
        {"kind": "service", "id": "record_outcome", "name": "Complaint outcome recorded", "action": "record_appeal_outcome"},
        {"kind": "end", "id": "end", "name": "Complaint concluded"},
    ],
    "flows": [
        ("f_start", "start", "stage1"),
        *outcome_flows("s1", "stage1"),
        ("f_s1_letter", "s1_done", "stage1_letter"),
        ("f_s1_told", "stage1_letter", "gw_after_stage1"),
        ("f_s1_lifted", "gw_after_stage1", "concluded", "appeal_outcome == 'upheld'", "Lifted"),
        ("f_s1_ask", "gw_after_stage1", "escalation", "default", "Not lifted"),
        ("f_asked", "escalation", "gw_escalate"),
        ("f_stage2", "gw_escalate", "stage2", "escalate == True", "Yes"),
        ("f_no_stage2", "gw_escalate", "concluded", "default", "No"),
        *outcome_flows("s2", "stage2"),
        ("f_s2_letter", "s2_done", "stage2_letter"),
        ("f_s2_told", "stage2_letter", "concluded"),
        ("f_conclude", "concluded", "record_outcome"),
        ("f_end", "record_outcome", "end"),
    ],
}

PROCESSES = [ASSESSMENT, REVIEW, APPEAL]
