"""INA-CBG grouper emulator: deterministic, table-driven (tables in data/, listed in data/manifest.json).

`grouper.Grouper` answers like the E-Klaim 5.1 grouper; `batch.run_batch` is the `fhirclaim group` command;
`tablegen` rewrites data/tariffs.csv. The steps live in their own modules: `episode` (reading and checking the
set_claim_data fields: the error groups), `casemix` (CMG, case type, CBG, severity), `topups` (sub-acute, chronic,
special CMG), `upgrade` (add_payment_amt), `tariffs` (packaged or a hospital's own table).
"""
