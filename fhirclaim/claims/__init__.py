"""The hospital's side of a claim (architecture §4, §6): from a Claim to E-Klaim's grouping and the signed Bundle.

    trigger            ClaimServerFields, PipelineTrigger   client writes: the server's fields kept, a job enqueued
    pipeline           ClaimPipeline                        the durable job state machine, step by step
    pipeline_worker    PipelineWorker                       the thread (or process) that runs the jobs
    claim_operations   $submit, $submit-status, $precheck, $print
    tenant_policy      TenantPolicy                         per hospital: which E-Klaim, which settings, which key
    gateway            EKlaimGateway                        what E-Klaim's answers mean for the flow
    assembly, evidence, claim_context                       what a Claim rests on, and the Bundle that carries it
    mapping, facts, fields_510, idrg, payors, supporting, tariff_breakdown   FHIR → E-Klaim
    results, server_fields                                  E-Klaim → FHIR, and what the server owns on a Claim
    precheck, rules/                                        the checks before E-Klaim is called
    code_tables, systems, fhirvalues                        data tables, URLs, FHIR datatypes as Python values

BPJS-K's side (its answers, their rules, the simulator) is `fhirclaim.bpjs`, which builds on this package.
"""
